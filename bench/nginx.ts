import fs from 'node:fs/promises';
import path from 'node:path';
import { type Started, startChild } from './procs.ts';

export const NGINX = '/usr/sbin/nginx';

export async function nginxInstalled(): Promise<boolean> {
  try {
    await fs.access(NGINX, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * nginx serving `root` on 127.0.0.1:`port`: one worker, no access log, everything it writes
 * under `dir`. Keep-alive is not capped so that, like the Node servers, connections are reused.
 */
export async function startNginx(dir: string, root: string, port: number): Promise<Started> {
  await fs.mkdir(path.join(dir, 'tmp'), { recursive: true });
  const tmp = path.join(dir, 'tmp');
  const conf = path.join(dir, 'nginx.conf');
  // As root, nginx would hand requests to a worker running as `nobody`, which cannot read our
  // private temporary folders.
  const user = process.getuid?.() === 0 ? 'user root root;\n' : '';
  await fs.writeFile(
    conf,
    `${user}worker_processes 1;
daemon off;
pid ${path.join(dir, 'nginx.pid')};
error_log ${path.join(dir, 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  client_body_temp_path ${tmp}/body;
  proxy_temp_path ${tmp}/proxy;
  fastcgi_temp_path ${tmp}/fastcgi;
  uwsgi_temp_path ${tmp}/uwsgi;
  scgi_temp_path ${tmp}/scgi;
  types { image/png png; }
  server {
    listen 127.0.0.1:${port};
    root ${root};
  }
}
`,
  );
  return startChild(NGINX, ['-p', `${dir}/`, '-e', path.join(dir, 'error.log'), '-c', conf], port, {
    label: 'nginx',
    timeoutMs: 10_000,
  });
}
