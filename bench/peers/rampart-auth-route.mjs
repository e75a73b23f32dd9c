// Loaded by `rampart serve --plugin`: the bench JSON route twice, once open and once behind
// Rampart's authentication (`app.rampart.authenticate`: JWT verify + revocation check).
const BODY = { hello: 'world', items: [1, 2, 3] };

export default async function benchAuthRoutes(app) {
  app.get('/bench/json', async () => BODY);
  await app.register(async (scope) => {
    await scope.register(app.rampart.authenticate);
    scope.get('/bench/protected', async () => BODY);
  });
}
