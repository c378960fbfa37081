// Package sensor is the composition root of stockade-sensor, one per
// secured cluster: it wires the Kubernetes informers (watch) to Central's
// connection (conn) and to deploy-time detection (detect), detection to
// enforcement (enforce), and serves the admission webhook (admission) and
// the health and metrics endpoints.
//
// The one idea: every part decides locally from one compiled policy set,
// held in an atomic pointer that admission control and detection read
// without waiting. Central replaces it whenever it pushes a new set; the
// set is also kept in --cache-dir, so that a Sensor restarted while Central
// is away still decides. Central being away changes only what is sent and
// when: messages wait in conn's bounded buffer and every reconnect starts
// with a full sync.
//
// What flows where:
//
//   - watch → detect (every deployment change) and → Central as
//     DeploymentEvents, once the initial state is synced;
//   - detect → Central as AlertEvents: ACTIVE with everything a
//     deployment violates now, RESOLVED when it is gone; its enforcement
//     requests go to enforce.Enforcer;
//   - admission decisions → Central: a denial as one ATTEMPTED AlertEvent
//     with the workload as judged, a break-glass admission as one ACTIVE
//     AlertEvent flagged break_glass, exec/attach/port-forward as
//     KubeEvents;
//   - on each (re)connect, conn's FullState hook waits for the informers'
//     initial sync, then sends the watcher's Snapshot and the Detector's
//     Current alerts; conn sends SyncDone after it.
//
// Nothing is sent live before the informers have synced: each full sync
// waits for that moment and reports the state as it is then, which
// includes every earlier change, so the initial burst is sent once.
package sensor
