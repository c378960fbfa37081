package sensorconn

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	sensorv1 "github.com/stockade-dev/stockade/api/sensor/v1"
	"github.com/stockade-dev/stockade/internal/central/inventory"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/policy"
	"github.com/stockade-dev/stockade/internal/workload"
)

// maxBatch bounds the deployment events applied in one transaction.
const maxBatch = 256

// stream is one stream's state: what it reported since it started.
type stream struct {
	c      *conn
	hashes map[string]string // the cluster's, shared with its later streams
	seen   map[string]bool   // deployment ids reported on this stream
	synced bool
	// touched is when the last contact was last written to the store.
	touched time.Time
}

// serve applies the Sensor's messages until the stream ends, ctx is
// cancelled, or the Sensor stays silent for the idle timeout.
func (s *Service) serve(ctx context.Context, c *conn, grpcStream sensorv1.SensorService_CommunicateServer) error {
	st := &stream{c: c, hashes: s.clusterHashes(c.clusterID), seen: map[string]bool{}, touched: s.now()}
	msgs := make(chan *sensorv1.SensorMessage, maxBatch)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := grpcStream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	idle := time.NewTimer(s.cfg.IdleTimeout)
	defer idle.Stop()
	var held *sensorv1.SensorMessage
	for {
		m := held
		held = nil
		if m == nil {
			select {
			case m = <-msgs:
			case err := <-recvErr:
				// Messages received before the error are applied first.
				select {
				case m = <-msgs:
					recvErr <- err
				default:
					if errors.Is(err, io.EOF) {
						return nil
					}
					return err
				}
			case <-ctx.Done():
				return context.Cause(ctx)
			case <-idle.C:
				return status.Errorf(codes.DeadlineExceeded, "no message from the Sensor for %s", s.cfg.IdleTimeout)
			}
		}
		idle.Reset(s.cfg.IdleTimeout)
		now := s.now()
		c.touch(now)
		if now.Sub(st.touched) >= s.cfg.TouchEvery {
			if err := s.store.TouchCluster(ctx, c.clusterID, now); err != nil {
				s.log.Warn("record last contact failed", "cluster", c.name, "err", err)
			}
			st.touched = now
		}
		var err error
		switch msg := m.GetMsg().(type) {
		case *sensorv1.SensorMessage_Deployment:
			batch := []*sensorv1.DeploymentEvent{msg.Deployment}
		gather:
			for len(batch) < maxBatch {
				select {
				case next := <-msgs:
					if d := next.GetDeployment(); d != nil {
						batch = append(batch, d)
						continue
					}
					held = next
				default:
				}
				break gather
			}
			err = s.applyDeployments(ctx, st, batch)
		case *sensorv1.SensorMessage_SyncDone:
			err = s.syncDone(ctx, st)
		case *sensorv1.SensorMessage_Alert:
			err = s.applyAlert(ctx, st, msg.Alert)
		case *sensorv1.SensorMessage_KubeEvent:
			err = s.applyKubeEvent(ctx, st, msg.KubeEvent)
		case *sensorv1.SensorMessage_AdmissionError:
			err = s.applyAdmissionError(ctx, st, msg.AdmissionError)
		case *sensorv1.SensorMessage_Heartbeat:
			err = c.send(&sensorv1.CentralMessage{Msg: &sensorv1.CentralMessage_Heartbeat{
				Heartbeat: &sensorv1.Heartbeat{TimeUnixNano: now.UnixNano()}}})
		case *sensorv1.SensorMessage_Hello:
			err = status.Error(codes.InvalidArgument, "Hello sent twice on one stream")
		default:
			s.log.Debug("unknown sensor message ignored", "cluster", c.name)
		}
		if err != nil {
			if _, ok := status.FromError(err); !ok {
				s.log.Error("sensor message not applied", "cluster", c.name, "err", err)
				err = status.Error(codes.Unavailable, "central could not apply a message; reconnect and sync again")
			}
			return err
		}
	}
}

// hashOf is the content hash of an event's document: the Sensor's, or
// SHA-256 when it sent none.
func hashOf(ev *sensorv1.DeploymentEvent) string {
	if h := ev.GetContentHash(); h != "" {
		return h
	}
	sum := sha256.Sum256(ev.GetDeploymentJson())
	return hex.EncodeToString(sum[:])
}

// decodeDeployment reads a deployment document of cluster, which it
// belongs to whatever it says. id, when given, must match the document's.
func decodeDeployment(doc []byte, id, cluster string) (*workload.Deployment, error) {
	if len(doc) > inventory.MaxDocument {
		return nil, fmt.Errorf("deployment %q is %d bytes, more than %d", id, len(doc), inventory.MaxDocument)
	}
	d := new(workload.Deployment)
	if err := json.Unmarshal(doc, d); err != nil {
		return nil, fmt.Errorf("deployment %q: %w", id, err)
	}
	switch {
	case d.ID == "" && id == "":
		return nil, errors.New("deployment without an id")
	case d.ID == "":
		d.ID = id
	case id != "" && d.ID != id:
		return nil, fmt.Errorf("deployment event for %q carries deployment %q", id, d.ID)
	}
	if d.Name == "" {
		return nil, fmt.Errorf("deployment %q has no name", d.ID)
	}
	d.ClusterName = cluster
	return d, nil
}

// applyDeployments writes a batch of deployment events in one
// transaction. Events whose content hash is stored already only count as
// reported; bad events are logged and skipped, as is an id that another
// cluster's deployment holds.
func (s *Service) applyDeployments(ctx context.Context, st *stream, batch []*sensorv1.DeploymentEvent) error {
	name := st.c.name
	var (
		upserts []store.DeploymentRecord
		hashes  = map[string]string{}
		at      = map[string]int{}  // index in upserts, for later events of the same id
		removed = map[string]bool{} // the batch's last word on these ids is REMOVE
	)
	for _, ev := range batch {
		id := ev.GetId()
		if ev.GetAction() == sensorv1.DeploymentEvent_REMOVE {
			if id == "" {
				s.log.Warn("deployment removal without an id ignored", "cluster", name)
				continue
			}
			delete(st.seen, id)
			// Forgotten at once: a later event of the same content in this
			// batch must be written again.
			delete(st.hashes, id)
			delete(hashes, id)
			if i, ok := at[id]; ok {
				upserts[i].ID = "" // dropped below
				delete(at, id)
			}
			removed[id] = true
			continue
		}
		h := hashOf(ev)
		if id != "" {
			st.seen[id] = true
			if st.hashes[id] == h {
				continue
			}
		}
		d, err := decodeDeployment(ev.GetDeploymentJson(), id, name)
		if err != nil {
			s.log.Warn("deployment event ignored", "cluster", name, "err", err)
			continue
		}
		st.seen[d.ID] = true
		delete(removed, d.ID)
		doc, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode deployment %q: %w", d.ID, err)
		}
		rec := store.DeploymentRecord{ID: d.ID, Cluster: name, Namespace: d.Namespace, Name: d.Name, Kind: d.Kind,
			Source: inventory.SourceSensor, JSON: doc}
		if i, ok := at[d.ID]; ok {
			upserts[i] = rec
		} else {
			at[d.ID] = len(upserts)
			upserts = append(upserts, rec)
		}
		hashes[d.ID] = h
	}
	live := upserts[:0]
	for _, r := range upserts {
		if r.ID != "" {
			live = append(live, r)
		}
	}
	upserts = live
	removes := make([]string, 0, len(removed))
	for id := range removed {
		removes = append(removes, id)
	}
	slices.Sort(removes)
	if len(upserts) == 0 && len(removes) == 0 {
		return nil
	}
	var resolved int
	err := s.inTx(ctx, func(tx *store.Tx, changes *changeSet) error {
		ids := make([]string, 0, len(upserts)+len(removes))
		for _, r := range upserts {
			ids = append(ids, r.ID)
		}
		ids = append(ids, removes...)
		owners, err := tx.DeploymentClusters(ctx, ids)
		if err != nil {
			return err
		}
		keep := upserts[:0]
		for _, r := range upserts {
			if owner, ok := owners[r.ID]; ok && owner != name {
				s.log.Warn("deployment event ignored", "cluster", name, "deployment", r.ID, "reason", "the id belongs to another cluster's deployment", "owner", owner)
				delete(hashes, r.ID)
				continue
			}
			keep = append(keep, r)
		}
		if err := tx.UpsertDeployments(ctx, keep); err != nil {
			return err
		}
		for _, id := range removes {
			if owner, ok := owners[id]; !ok || owner != name {
				continue
			}
			n, err := s.removeDeployment(ctx, tx, changes, name, id)
			if err != nil {
				return err
			}
			resolved += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	for id, h := range hashes {
		st.hashes[id] = h
	}
	s.log.Debug("deployments applied", "cluster", name, "events", len(batch), "written", len(upserts), "removed", len(removes), "alerts_resolved", resolved)
	return nil
}

// removeDeployment deletes a deployment of cluster and resolves its open
// alerts, returning how many it resolved.
func (s *Service) removeDeployment(ctx context.Context, tx *store.Tx, changes *changeSet, cluster, id string) (int, error) {
	if err := tx.DeleteDeployment(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return 0, err
	}
	open, err := openAlerts(ctx, tx, cluster, id, "")
	if err != nil {
		return 0, err
	}
	for _, a := range open {
		if err := s.resolve(ctx, tx, changes, a); err != nil {
			return 0, err
		}
	}
	return len(open), nil
}

// syncDone removes the cluster's deployments the Sensor did not report on
// this stream.
func (s *Service) syncDone(ctx context.Context, st *stream) error {
	name := st.c.name
	ids, err := s.store.ClusterDeploymentIDs(ctx, name, inventory.SourceSensor)
	if err != nil {
		return err
	}
	var stale []string
	for _, id := range ids {
		if !st.seen[id] {
			stale = append(stale, id)
		}
	}
	resolved := 0
	for start := 0; start < len(stale); start += maxBatch {
		chunk := stale[start:min(start+maxBatch, len(stale))]
		err := s.inTx(ctx, func(tx *store.Tx, changes *changeSet) error {
			for _, id := range chunk {
				n, err := s.removeDeployment(ctx, tx, changes, name, id)
				if err != nil {
					return err
				}
				resolved += n
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, id := range chunk {
			delete(st.hashes, id)
		}
	}
	st.synced = true
	s.log.Info("sensor synced", "cluster", name, "deployments", len(ids)-len(stale), "removed", len(stale), "alerts_resolved", resolved)
	return nil
}

// marshalPolicies encodes the policy set for PolicySync.
func marshalPolicies(ps []*policy.Policy) ([]byte, error) {
	doc, err := json.Marshal(ps)
	if err != nil {
		return nil, fmt.Errorf("encode policy set: %w", err)
	}
	return doc, nil
}
