// Builds the dataset binaries into <repo>/.cache/datasets (or $FEDBIT_DATA_DIR).
//   npx tsx packages/datasets/scripts/build.ts [--rebuild] [--only mnist|emoji]
import { ensureDatasets, dataDir, type DatasetName } from '../src/node/index';

const args = process.argv.slice(2);
const rebuild = args.includes('--rebuild');
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? (args[onlyAt + 1]?.split(',') as DatasetName[]) : undefined;
console.log(`datasets -> ${dataDir()}`);
const results = await ensureDatasets({ rebuild, ...(only ? { only } : {}) });
for (const r of results) {
  console.log(`${`${r.name}-${r.size}.bin`.padEnd(14)} ${String(r.count).padStart(6)} images ${(r.bytes / 1e6).toFixed(2).padStart(7)} MB  ${r.built ? `built in ${r.seconds.toFixed(1)} s` : 'cached'}`);
}
