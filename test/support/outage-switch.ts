import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface OutageSwitch {
  isDown(): boolean;
  /** While down, open connections are destroyed and new ones are dropped without an answer. */
  setDown(down: boolean): void;
  /** Destroys open connections and closes the server. */
  close(): Promise<void>;
}

/** Lets a fake service (fake-aws, fake-s3) go away and come back the way a crashed one does. */
export function outageSwitch(server: Server): OutageSwitch {
  const sockets = new Set<Socket>();
  let down = false;
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (down) socket.destroy();
  });
  const destroyAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    isDown: () => down,
    setDown(value) {
      down = value;
      if (down) destroyAll();
    },
    close: () =>
      new Promise<void>((resolve) => {
        destroyAll();
        server.close(() => resolve());
      }),
  };
}
