/**
 * One readiness check per protocol. Each resolves true only when the server answered a real
 * request, and false (never throws) when it did not answer within `timeoutMs`.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';

const HOST = '127.0.0.1';

/**
 * Kafka ApiVersions v0. A KRaft broker binds its listener early but only answers requests
 * once it has caught up with the controller and been unfenced, so an answer means "ready".
 */
export async function kafkaApiVersions(port: number, timeoutMs: number): Promise<boolean> {
  const clientId = Buffer.from('qls-infra');
  const body = Buffer.alloc(2 + 2 + 4 + 2 + clientId.length);
  body.writeInt16BE(18, 0); // api key: ApiVersions
  body.writeInt16BE(0, 2); // api version 0: a fixed layout every broker still accepts
  body.writeInt32BE(7, 4); // correlation id
  body.writeInt16BE(clientId.length, 8);
  clientId.copy(body, 10);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  const response = await exchange(
    port,
    Buffer.concat([size, body]),
    timeoutMs,
    (data) => data.length >= 4 && data.length >= 4 + data.readInt32BE(0),
  );
  return response !== undefined && response.length >= 10 && response.readInt32BE(4) === 7 && response.readInt16BE(8) === 0;
}

/** Redis PING over RESP. */
export async function redisPing(port: number, timeoutMs: number): Promise<boolean> {
  const response = await exchange(port, Buffer.from('PING\r\n'), timeoutMs, (data) => data.includes('\r\n'));
  return response?.toString('latin1').startsWith('+PONG') === true;
}

/** An SQS ListQueues call in the JSON protocol the AWS SDK speaks. */
export function sqsListQueues(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: HOST,
        port,
        method: 'POST',
        path: '/',
        agent: false,
        timeout: timeoutMs,
        headers: {
          'X-Amz-Target': 'AmazonSQS.ListQueues',
          'Content-Type': 'application/x-amz-json-1.0',
          Connection: 'close',
        },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end('{}');
  });
}

/** A command that exits 0 when the server is ready (pg_isready). */
export function commandSucceeds(command: string, args: readonly string[], timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: timeoutMs }, (error) => resolve(error === null));
  });
}

/** Sends `payload` and collects the reply until `complete` says it is whole; undefined on any failure. */
function exchange(port: number, payload: Buffer, timeoutMs: number, complete: (data: Buffer) => boolean): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let data = Buffer.alloc(0);
    const socket = connect({ host: HOST, port });
    const finish = (result: Buffer | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => finish(undefined));
    socket.once('error', () => finish(undefined));
    socket.once('close', () => finish(complete(data) ? data : undefined));
    socket.once('connect', () => socket.write(payload));
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (complete(data)) finish(data);
    });
  });
}

/** An HTTP GET answered with a 2xx. */
export function httpOk(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false, timeout: timeoutMs, headers: { Connection: 'close' } }, (res) => {
      res.resume();
      resolve(res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(false));
    req.end();
  });
}
