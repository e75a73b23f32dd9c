// (e) The seeds' Node stack: Express 5 + helmet + cors + pino-http, defaults.
import express from 'express';
import helmet from 'helmet';
import cors from 'cors';
import { pinoHttp } from 'pino-http';
import { BODY, closeOnSignal, listenExpress } from './common.mjs';

const app = express();
app.use(helmet());
app.use(cors());
// pino-http writes one line per completed request to stdout by default.
app.use(pinoHttp());
app.get('/health', (_req, res) => res.json({ status: 'ok' }));
app.get('/bench/json', (_req, res) => res.json(BODY));

const server = await listenExpress(app);
closeOnSignal(() => new Promise((resolve) => server.close(resolve)));
