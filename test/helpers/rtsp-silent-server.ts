/**
 * A "camera" that accepts the TCP connection and then never says a word:
 * ffmpeg's RTSP client waits on it forever and writes nothing, which is the
 * case only the stall watchdog (or the exit hook) can end.
 */
import net from 'node:net';

export interface SilentServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    port,
    url: `rtsp://127.0.0.1:${port}/cam`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}
