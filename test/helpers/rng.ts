/** Deterministic PRNG (mulberry32): noisy test scenes are the same on every run. */
export { seededRandom as rng } from '../../src/core/random.js';
