// Loaded by `rampart serve --plugin`: the same route as every other peer,
// registered inside Rampart so it runs behind all of Rampart's controls.
export default async function benchRoute(app) {
  app.get('/bench/json', async () => ({ hello: 'world', items: [1, 2, 3] }));
}
