// Who this tab is: a readable name (model from the user agent plus 4 random hex digits) and the id
// the aggregator gave with its resume token (the secret that proves the id), kept so that a reload
// rejoins as the same device. sessionStorage is per tab; localStorage carries them into a new tab
// later. A Web Lock keeps two open tabs of one browser from claiming the same id at once (the second
// becomes a new device).
const ID_KEY = 'fedbit.deviceId';
const TOKEN_KEY = 'fedbit.resumeToken';
const NAME_KEY = 'fedbit.deviceName';

function randomHex(digits: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(digits / 2)));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('').slice(0, digits);
}

/** "Pixel-7", "iPhone", "Mac", "Windows", ...: short enough for a table cell. */
export function modelFromUserAgent(ua: string): string {
  const android = /Android[^;)]*;\s*(?:[a-z]{2}[-_][A-Za-z]{2};\s*)?([^;)]+?)(?:\s+Build\/[^;)]*)?[;)]/.exec(ua);
  if (android && android[1] && android[1] !== 'K' && !/^Linux/.test(android[1])) return android[1].trim().replace(/\s+/g, '-').slice(0, 24);
  if (/iPhone/.test(ua)) return 'iPhone';
  if (/iPad/.test(ua)) return 'iPad';
  if (/Android/.test(ua)) return 'Android';
  if (/CrOS/.test(ua)) return 'Chromebook';
  if (/Macintosh|Mac OS X/.test(ua)) return 'Mac';
  if (/Windows/.test(ua)) return 'Windows';
  if (/Linux/.test(ua)) return 'Linux';
  return 'Device';
}

function read(storage: Storage, key: string): string | null {
  try {
    return storage.getItem(key);
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  for (const storage of [sessionStorage, localStorage]) {
    try {
      storage.setItem(key, value);
    } catch {
      // Private mode or storage disabled: the device simply joins as new next time.
    }
  }
}

export function defaultName(): string {
  return read(sessionStorage, NAME_KEY) ?? read(localStorage, NAME_KEY) ?? `${modelFromUserAgent(navigator.userAgent)} ${randomHex(4)}`;
}

export function rememberName(name: string): void {
  write(NAME_KEY, name);
}

export function rememberDevice(id: string, resumeToken: string | undefined): void {
  write(ID_KEY, id);
  if (resumeToken) write(TOKEN_KEY, resumeToken);
  void holdLock(id);
}

async function holdLock(id: string): Promise<boolean> {
  const locks = (navigator as Navigator & { locks?: LockManager }).locks;
  if (!locks) return true;
  return new Promise<boolean>((resolve) => {
    void locks.request(`fedbit-device:${id}`, { ifAvailable: true }, (lock) => {
      resolve(lock !== null);
      // Held until the tab closes.
      return lock ? new Promise<void>(() => undefined) : undefined;
    });
  });
}

/** The id and token to rejoin with; none when there are none or another open tab already uses the id. */
export async function claimDevice(): Promise<{ deviceId?: string; resumeToken?: string }> {
  const storage = read(sessionStorage, ID_KEY) ? sessionStorage : localStorage;
  const deviceId = read(storage, ID_KEY);
  const resumeToken = read(storage, TOKEN_KEY);
  if (!deviceId || !resumeToken) return {};
  return (await holdLock(deviceId)) ? { deviceId, resumeToken } : {};
}
