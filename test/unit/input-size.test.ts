import { describe, expect, it } from 'vitest';
import { nativeInputSize } from '../../src/model/input-size.js';

describe('nativeInputSize', () => {
  it.each([
    // The development clips: PETS09, traffic, car park, one-by-one, pedestrians, highway.
    [768, 576, 768, 576],
    [960, 540, 960, 544],
    [768, 432, 768, 448],
    [1920, 1080, 1280, 736],
    [320, 240, 320, 256],
    [16, 16, 32, 32],
  ])('%ix%i -> %ix%i (multiples of 32, the longer side at most 1280)', (w, h, ew, eh) => {
    expect(nativeInputSize(w, h, 32)).toEqual({ width: ew, height: eh });
  });

  it('takes another cap', () => {
    expect(nativeInputSize(1920, 1080, 32, 640)).toEqual({ width: 640, height: 352 });
  });
});
