package manifest

import (
	"slices"

	yaml "go.yaml.in/yaml/v3"
)

// node is one YAML or JSON value as the parsers hand it to the decoder. It
// is a third of the size of a yaml.Node: a corpus makes hundreds of
// thousands of them.
type node struct {
	kind    nodeKind
	tag     nodeTag
	style   nodeStyle
	line    int32 // 1-based
	value   string
	content []*node // a mapping's keys and values alternate
	alias   *node   // what an alias node stands for
}

type nodeKind uint8

const (
	scalarNode nodeKind = iota + 1
	mappingNode
	sequenceNode
	aliasNode
)

// nodeTag is a scalar's resolved YAML tag (collections carry tagMap and
// tagSeq).
type nodeTag uint8

const (
	tagStr nodeTag = iota
	tagInt
	tagFloat
	tagBool
	tagNull
	tagTimestamp
	tagMerge
	tagBinary
	tagMap
	tagSeq
	tagOther // an application tag such as !secret, read as a string
)

// nodeStyle has yaml.Style's bits, which the differential tests compare.
type nodeStyle uint8

const (
	styleTagged       = nodeStyle(yaml.TaggedStyle)
	styleDoubleQuoted = nodeStyle(yaml.DoubleQuotedStyle)
	styleSingleQuoted = nodeStyle(yaml.SingleQuotedStyle)
	styleLiteral      = nodeStyle(yaml.LiteralStyle)
	styleFolded       = nodeStyle(yaml.FoldedStyle)
	styleFlow         = nodeStyle(yaml.FlowStyle)
)

func tagOf(short string) nodeTag {
	switch short {
	case "!!str":
		return tagStr
	case "!!int":
		return tagInt
	case "!!float":
		return tagFloat
	case "!!bool":
		return tagBool
	case "!!null":
		return tagNull
	case "!!timestamp":
		return tagTimestamp
	case "!!merge":
		return tagMerge
	case "!!binary":
		return tagBinary
	case "!!map":
		return tagMap
	case "!!seq":
		return tagSeq
	default:
		return tagOther
	}
}

// fromYAML converts a yaml.v3 tree, keeping aliases pointing at the
// converted anchors.
func fromYAML(y *yaml.Node, seen map[*yaml.Node]*node) *node {
	if n, ok := seen[y]; ok {
		return n
	}
	n := &node{line: int32(y.Line), value: y.Value, style: nodeStyle(y.Style)}
	seen[y] = n
	switch y.Kind {
	case yaml.MappingNode:
		n.kind, n.tag = mappingNode, tagMap
	case yaml.SequenceNode:
		n.kind, n.tag = sequenceNode, tagSeq
	case yaml.AliasNode:
		n.kind = aliasNode
		if y.Alias != nil {
			n.alias = fromYAML(y.Alias, seen)
		}
	default:
		n.kind, n.tag = scalarNode, tagOf(y.ShortTag())
	}
	if len(y.Content) > 0 {
		n.content = make([]*node, len(y.Content))
		for i, c := range y.Content {
			n.content[i] = fromYAML(c, seen)
		}
	}
	return n
}

// arena hands out nodes and child lists from blocks that are reused once
// reset, which costs far fewer allocations, and far less fresh memory,
// than one allocation each.
type arena struct {
	nodes [][]node
	nb    int // the block in use
	ptrs  [][]*node
	pb    int
}

const (
	nodeBlock = 1024
	ptrBlock  = 2048
)

// reset makes every block free again; nodes handed out before are reused.
func (a *arena) reset() {
	for i := range a.nodes {
		a.nodes[i] = a.nodes[i][:0]
	}
	for i := range a.ptrs {
		a.ptrs[i] = a.ptrs[i][:0]
	}
	a.nb, a.pb = 0, 0
}

func (a *arena) node() *node {
	for {
		if a.nb == len(a.nodes) {
			a.nodes = append(a.nodes, make([]node, 0, nodeBlock))
		}
		if blk := a.nodes[a.nb]; len(blk) < cap(blk) {
			blk = blk[:len(blk)+1]
			a.nodes[a.nb] = blk
			return &blk[len(blk)-1]
		}
		a.nb++
	}
}

// list copies children into a list of exactly their length.
func (a *arena) list(children []*node) []*node {
	if len(children) == 0 {
		return nil
	}
	if len(children) > ptrBlock/4 {
		return slices.Clone(children)
	}
	for {
		if a.pb == len(a.ptrs) {
			a.ptrs = append(a.ptrs, make([]*node, 0, ptrBlock))
		}
		if blk := a.ptrs[a.pb]; cap(blk)-len(blk) >= len(children) {
			start := len(blk)
			blk = append(blk, children...)
			a.ptrs[a.pb] = blk
			return blk[start:len(blk):len(blk)]
		}
		a.pb++
	}
}
