// Entry point of the GPU machine's bundle (scripts/gpu/bundle.sh): tfjs-core's gradients are
// registered statically here, because in Node the project loads them through the umbrella
// package at run time (packages/diffusion/src/gradients.ts), which the bundle does not carry.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '../../apps/cli/src/bench/train';
