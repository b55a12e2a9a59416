// navigator.getBattery exists only in Chromium, and only on a window (not in a worker), so the
// page reads it and forwards every change to the training worker.
export interface BatteryReading {
  battery: number | null;
  charging: boolean | null;
}

interface BatteryManagerLike extends EventTarget {
  level: number;
  charging: boolean;
}

/** Calls `onChange` now and on every change; returns a function that stops listening. */
export function watchBattery(onChange: (reading: BatteryReading) => void): () => void {
  const nav = navigator as Navigator & { getBattery?: () => Promise<BatteryManagerLike> };
  let stopped = false;
  let cleanup = () => undefined as void;
  if (!nav.getBattery) {
    onChange({ battery: null, charging: null });
    return () => undefined;
  }
  nav
    .getBattery()
    .then((manager) => {
      if (stopped) return;
      const report = () => onChange({ battery: manager.level, charging: manager.charging });
      report();
      for (const name of ['levelchange', 'chargingchange']) manager.addEventListener(name, report);
      cleanup = () => {
        for (const name of ['levelchange', 'chargingchange']) manager.removeEventListener(name, report);
      };
    })
    .catch(() => onChange({ battery: null, charging: null }));
  return () => {
    stopped = true;
    cleanup();
  };
}
