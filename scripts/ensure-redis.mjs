// Makes sure redis-server exists for the cluster tests (test/cluster.test.ts starts its own on a
// free port). REDIS_SERVER_PATH points at one of your own; otherwise redis-server on the PATH is used
// and, on Debian, installed with apt-get when it is missing. FEDBIT_SKIP_REDIS=1 skips the cluster tests.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const onPath = () => {
  try {
    execSync('command -v redis-server', { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

const given = process.env.REDIS_SERVER_PATH;
if (process.env.FEDBIT_SKIP_REDIS === '1') {
  console.log('[ensure-redis] FEDBIT_SKIP_REDIS=1: cluster tests will be skipped');
} else if (given) {
  if (!existsSync(given)) {
    console.error(`[ensure-redis] REDIS_SERVER_PATH=${given} does not exist; expected the path of a redis-server binary`);
    process.exit(1);
  }
} else if (!onPath()) {
  if (!existsSync('/etc/debian_version')) {
    console.error('[ensure-redis] no redis-server on the PATH and this is not Debian: install Redis (7 or later) and set REDIS_SERVER_PATH=/path/to/redis-server, or set FEDBIT_SKIP_REDIS=1');
    process.exit(1);
  }
  const sudo = process.getuid && process.getuid() === 0 ? '' : 'sudo ';
  console.log('[ensure-redis] installing Debian redis-server with apt-get (once)');
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server`, { stdio: 'inherit' });
}
