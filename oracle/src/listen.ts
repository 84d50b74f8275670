/**
 * A listening socket that could not be opened, said with the setting to change: the port taken by
 * another process, a port below 1024 without the privilege, or a host that is not an address of
 * this machine. Other errors are returned as they are.
 */
export function listenFailure(setting: "http" | "mqtt", host: string, port: number, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  const fix =
    code === "EADDRINUSE"
      ? `the port is in use by another process: stop it, or set ${setting}.port to a free port`
      : code === "EACCES"
        ? `not allowed (a port below 1024 needs privileges): set ${setting}.port to 1024 or above`
        : code === "EADDRNOTAVAIL"
          ? `${host} is not an address of this machine: set ${setting}.host to one of its addresses (127.0.0.1, or 0.0.0.0 for all)`
          : null;
  if (fix === null) return err instanceof Error ? err : new Error(String(err));
  return Object.assign(new Error(`${setting}: cannot listen on ${host}:${port} (${code}): ${fix}`, { cause: err }), {
    code,
  });
}
