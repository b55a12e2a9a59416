export * from './runtime';
export * from './telemetry';
export * from './profiles';
export * from './channel';
export * from './browser-data';
