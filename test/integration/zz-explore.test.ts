import { it } from 'vitest';
import { NeulensService } from '../../src/pipeline/service.js';
import { testConfig, WsProbe, PARADE } from '../../test/helpers/service.js';
import { silentLogger } from '../../src/core/log.js';
it('explore', async () => {
  const t0 = Date.now();
  const svc = await NeulensService.start(testConfig(`server: {port: 0}\ncameras:\n  - id: demo\n    url: ${PARADE}\n    loop: true\n`), { log: silentLogger });
  console.log('started ms', Date.now() - t0);
  const c = await WsProbe.connect(svc.url);
  await new Promise((r) => setTimeout(r, 8000));
  const f = c.frames();
  console.log('frames', f.length, 'first at', f[0] && f[0].atMs - t0);
  for (const r of f.slice(0, 40)) console.log(r.msg.seq, r.msg.ptsMs, r.msg.latencyMs, r.msg.inferenceMs, r.msg.width, r.msg.height, r.msg.boxes.map((b) => `${b.label}#${b.trackId ?? '-'}@${b.x.toFixed(0)},${b.y.toFixed(0)},${b.w.toFixed(0)}x${b.h.toFixed(0)}`).join(' '));
  console.log(JSON.stringify(svc.stats()));
  await c.close();
  await svc.close();
}, 60000);
