/**
 * The house rules, checked by `npm test` (`npm run lint:deps`): which folder of
 * src/ may import which. The folders form layers, lowest first; a folder may
 * import its own files and the folders BELOW it, never one above. This list is
 * the only place the direction is written (docs/architecture.md draws it).
 */
const LAYERS = [
  'core', //       types, errors, geometry, matching, statistics, logging
  'model', //      the model pack, ONNX Runtime (the only door to it), tensors, input sizes
  'arac', //       tile geometry, windows, plans, the labeling rule (pure)
  'detect', //     pre/post-processing, the ARAC executor, the Detector: frame + plan -> detections
  'inference', //  worker threads running Detectors for every camera
  'track', //      the multi-object tracker
  'importance', // which tiles matter: motion, change, tracks, refresh, the learnt controller
  'demux', //      cost model, per-frame controller, fair share between cameras
  'strategy', //   how a frame becomes detections (full, skip-track, arac, ...)
  'config', //     the YAML schema and loader
  'ingest', //     ffmpeg children: sources in, RGB frames out
  'camera', //     one camera: source, gate, strategy, tracker, results$
  'events', //     tracked objects -> new/update/end events, zones, counts (per camera, from the tracker's output)
  'serve', //      HTTP, WebSocket hub, wire protocol, metrics
  'viewer', //     the live viewer: its page (web/, browser modules speaking serve's protocol), JPEG pictures of published frames
  'history', //    the event history: events in SQLite (one owner), snapshots (the viewer's encoder), retention, the /api/events query
  'mqtt', //       the MQTT client (one owner), outbox, topics and payloads, Home Assistant discovery
  'service', //    the running service: server, pool, fair share, a map of cameras
  'fleet', //      many instances on NATS JetStream: leases, fan-out on subjects, the gateway (its own small service)
  'eval', //       replay, bench, metrics, plots
  'cli', //        the commands
];

const above = (i) => LAYERS.slice(i + 1);
const KNOWN = `^src/(${LAYERS.join('|')})/`;

module.exports = {
  forbidden: [
    ...LAYERS.map((layer, i) => ({
      name: `layer-${layer}`,
      comment: `src/${layer}/ may import only ${LAYERS.slice(0, i).join(', ') || 'nothing else in src'} (lower layers), not ${above(i).join(', ') || '-'}`,
      severity: 'error',
      from: { path: `^src/${layer}/` },
      to: above(i).length ? { path: `^src/(${above(i).join('|')})/` } : { path: '^$' },
    })),
    {
      name: 'no-circular',
      comment: 'files must not import each other in a loop',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      comment: 'source never imports tests',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    ...[
      { from: { path: '^src/', pathNot: KNOWN }, to: {} },
      { from: {}, to: { path: '^src/', pathNot: KNOWN } },
      { from: { path: '^src/', pathNot: KNOWN, orphan: true }, to: {} },
    ].map((r) => ({
      name: 'unknown-folder',
      comment: `every folder of src/ is a layer of .dependency-cruiser.cjs (${LAYERS.join(', ')})`,
      severity: 'error',
      ...r,
    })),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
