package integrationapi

import (
	"encoding/json"
	"fmt"

	"github.com/stockade-dev/stockade/internal/central/secret"
	"github.com/stockade-dev/stockade/internal/central/store"
	"github.com/stockade-dev/stockade/internal/scanner/registry"
)

// secretField is one secret of an integration and its path in the JSON
// document, which is also part of its encryption context.
type secretField struct {
	path string
	s    *registry.Secret
}

// secretFields lists every secret of in, by pointer, so that sealing,
// opening and masking never miss one. A new secret in registry.Integration
// goes here (TestSecretFieldsCoverTheType fails until it does).
func secretFields(in *registry.Integration) []secretField {
	out := []secretField{{"password", &in.Password}}
	if in.ECR != nil {
		out = append(out, secretField{"ecr.secretAccessKey", &in.ECR.SecretAccessKey}, secretField{"ecr.sessionToken", &in.ECR.SessionToken})
	}
	if in.Google != nil {
		out = append(out, secretField{"google.serviceAccountJson", &in.Google.ServiceAccountJSON})
	}
	if in.Azure != nil {
		out = append(out, secretField{"azure.clientSecret", &in.Azure.ClientSecret})
	}
	return out
}

// encryptionContext binds a ciphertext to its integration and field.
func encryptionContext(id, path string) string { return "imageintegration/" + id + "/" + path }

// clone copies in deeply enough that its secrets can be replaced.
func clone(in registry.Integration) registry.Integration {
	if in.ECR != nil {
		e := *in.ECR
		in.ECR = &e
	}
	if in.Google != nil {
		g := *in.Google
		in.Google = &g
	}
	if in.Azure != nil {
		a := *in.Azure
		in.Azure = &a
	}
	return in
}

// seal makes the store record of in: its document with every secret
// encrypted field by field.
func seal(box *secret.Box, in registry.Integration) (store.ImageIntegrationRecord, error) {
	sealed := clone(in)
	for _, f := range secretFields(&sealed) {
		ct, err := box.Seal(f.s.Reveal(), encryptionContext(in.ID, f.path))
		if err != nil {
			return store.ImageIntegrationRecord{}, fmt.Errorf("image integration %q: %w", in.Name, err)
		}
		*f.s = registry.Secret(ct)
	}
	doc, err := sealed.MarshalWithSecrets()
	if err != nil {
		return store.ImageIntegrationRecord{}, fmt.Errorf("encode image integration %q: %w", in.Name, err)
	}
	return store.ImageIntegrationRecord{ID: in.ID, Name: in.Name, Type: string(in.Type), JSON: doc}, nil
}

// decodeSealed reads a stored document without decrypting: its secrets are
// still ciphertexts. The record's columns win over the document.
func decodeSealed(rec store.ImageIntegrationRecord) (registry.Integration, error) {
	var in registry.Integration
	if err := json.Unmarshal(rec.JSON, &in); err != nil {
		return registry.Integration{}, fmt.Errorf("decode stored image integration %q: %w", rec.ID, err)
	}
	in.ID, in.Name, in.Type = rec.ID, rec.Name, registry.Type(rec.Type)
	return in, nil
}

// open decodes a stored record and decrypts its secrets.
func open(box *secret.Box, rec store.ImageIntegrationRecord) (registry.Integration, error) {
	in, err := decodeSealed(rec)
	if err != nil {
		return registry.Integration{}, err
	}
	for _, f := range secretFields(&in) {
		pt, err := box.Open(string(*f.s), encryptionContext(rec.ID, f.path))
		if err != nil {
			return registry.Integration{}, fmt.Errorf("image integration %q: %w", rec.Name, err)
		}
		*f.s = registry.Secret(pt)
	}
	return in, nil
}
