// Package layer walks image layers and turns them into a package catalog.
//
// The one idea: each layer is walked once, as an uncompressed tar stream, and
// reduced to a catalog.LayerResult — the components found per file path, the
// paths it deletes (whiteouts, opaque directories), the OS it declares. That
// result depends only on the layer's bytes and the analyzer versions, so it is
// cached by layer digest; Merge then applies the results in order to obtain
// the image's catalog without touching a layer again.
package layer
