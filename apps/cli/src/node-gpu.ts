// WebGPU for the command line's Node processes (simulate, bench:train). Dawn (the npm `webgpu`
// package) finds the machine's GPU through the system's Vulkan loader and driver. Where it finds no
// adapter and Chromium's SwiftShader is installed (the project's test machines), the command runs
// itself again with SwiftShader's Vulkan driver, because the library path is read only when a
// process starts. SwiftShader is software: it checks that the path works, not GPU speed.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { installNodeWebGpu, SWIFTSHADER_ICD, SWIFTSHADER_LIB_DIR } from '@fedbit/diffusion';

const MARK = 'FEDBIT_SWIFTSHADER_CHILD';

/**
 * Makes sure `navigator.gpu` exists in this process (Dawn created with `dawnFlags`, e.g.
 * 'disable-dawn-features=timestamp_quantization'). Resolves 'ready' when it does, or never
 * resolves when this process has handed the work to a child that runs with SwiftShader (this
 * process then exits with the child's code). Throws, saying what to do, when there is no way.
 */
export async function ensureNodeWebGpu(log: (line: string) => void, dawnFlags: string[] = []): Promise<'ready'> {
  try {
    await installNodeWebGpu(dawnFlags);
    return 'ready';
  } catch (error) {
    const canRetry =
      process.platform === 'linux' && !process.env[MARK] && !process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD);
    if (!canRetry) throw error;
  }
  log(`no WebGPU adapter from the system's Vulkan: running again on SwiftShader (${SWIFTSHADER_ICD}; software, slow)`);
  const env = {
    ...process.env,
    [MARK]: '1',
    VK_ICD_FILENAMES: SWIFTSHADER_ICD,
    LD_LIBRARY_PATH: [SWIFTSHADER_LIB_DIR, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
  };
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], { env, stdio: 'inherit' });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  process.exit(code);
}
