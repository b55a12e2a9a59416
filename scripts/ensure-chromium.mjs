// Makes sure a Chromium exists for the real-browser tests in test/e2e.
// CHROMIUM_PATH points the tests at a browser of your own; otherwise /usr/bin/chromium is used and,
// on Debian, installed with apt-get when it is missing. FEDBIT_SKIP_E2E=1 skips the browser tests.
import { existsSync } from 'node:fs';
import { execSync } from 'node:child_process';

const given = process.env.CHROMIUM_PATH;
if (process.env.FEDBIT_SKIP_E2E === '1') {
  console.log('[ensure-chromium] FEDBIT_SKIP_E2E=1: browser tests will be skipped');
} else if (given) {
  if (!existsSync(given)) {
    console.error(`[ensure-chromium] CHROMIUM_PATH=${given} does not exist; expected the path of a Chromium or Chrome binary`);
    process.exit(1);
  }
} else if (!existsSync('/usr/bin/chromium')) {
  if (!existsSync('/etc/debian_version')) {
    console.error('[ensure-chromium] no /usr/bin/chromium and this is not Debian: install Chromium and set CHROMIUM_PATH=/path/to/chromium, or set FEDBIT_SKIP_E2E=1');
    process.exit(1);
  }
  const sudo = process.getuid && process.getuid() === 0 ? '' : 'sudo ';
  console.log('[ensure-chromium] installing Debian chromium with apt-get (once)');
  execSync(`${sudo}apt-get update -qq && ${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium`, { stdio: 'inherit' });
}
