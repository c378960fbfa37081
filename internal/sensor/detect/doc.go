// Package detect is Sensor's deploy-time detection: every deployment the
// watcher reports is evaluated against the DEPLOY-stage policies Sensor has
// cached from Central, and what each deployment violates is reported as its
// whole current list of alerts, the shape of sensorv1.AlertEvent ACTIVE.
//
// The one idea: a deployment's alerts are a state, and only changes of that
// state leave the Detector. The Detector keeps, per deployment, a hash of
// the (policy id, violations) pairs it last reported; an evaluation with the
// same hash says nothing, so a rollout that changes the pod template but not
// what it violates, or a policy push that changes another policy, costs no
// traffic. Removing a deployment that had alerts reports it Removed (with no
// alerts); one that had none says nothing, since there was nothing to
// resolve.
//
// Watch's Sink must not block, so Deployment and PoliciesChanged only note
// the work: a map keyed by deployment id holds the newest event of each
// deployment (a burst of updates to one deployment is evaluated once) and a
// FIFO of ids keeps them fair. One goroutine, Run, evaluates.
//
// Enforcement: when a violated policy carries SCALE_TO_ZERO_ENFORCEMENT or
// UNSATISFIABLE_NODE_CONSTRAINT_ENFORCEMENT, the Enforcer is called once
// for that (deployment, policy, action) — and again only after the violation
// cleared and came back, or after Sensor restarted. Enforcement runs on a
// second goroutine so that a slow API server never delays detection. A
// failed call is logged and not retried: the workload keeps its alert, and
// Central's record says the policy is still violated.
package detect
