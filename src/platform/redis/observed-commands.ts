import type { Cluster, Redis } from 'ioredis';

/** Called when a command is sent; the returned function when it settles (with the error, if it failed). */
export type CommandObserver = (command: string) => (error?: unknown) => void;

/**
 * Every command of `client` observed (metrics, trace spans) by name: names come from our own
 * code, so the label set stays bounded. Pipelined commands are observed one by one.
 */
export function observeCommands(client: Redis | Cluster, observe: CommandObserver): void {
  const send = client.sendCommand.bind(client) as (command: ObservableCommand, ...rest: unknown[]) => unknown;
  (client as { sendCommand: unknown }).sendCommand = (command: ObservableCommand, ...rest: unknown[]) => {
    const done = observe(command.name.toLowerCase());
    command.promise.then(() => done(), (error: unknown) => done(error));
    return send(command, ...rest);
  };
}

interface ObservableCommand {
  name: string;
  promise: Promise<unknown>;
}
