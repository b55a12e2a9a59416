import { useEffect, useState } from 'react';
import { watchBattery, type BatteryReading } from './battery';

/** The battery as the browser reports it; null until the first reading. */
export function useBattery(): BatteryReading | null {
  const [reading, setReading] = useState<BatteryReading | null>(null);
  useEffect(() => watchBattery(setReading), []);
  return reading;
}
