package figma

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// elem is one element of the generated markup, shared by the React and the
// static HTML output.
type elem struct {
	node     *Node
	tag      string // div, p, img
	class    string // the node's own rule
	text     string
	prop     string // a text inside a component: the prop carrying its characters
	asset    string // img: the node id in the assets table
	comp     *component
	props    []decl // an instance's text overrides, prop → characters
	runs     []run  // a text with mixed styles
	children []*elem
}

// component is a COMPONENT node of the file, emitted once as a React
// component with a string prop per text.
type component struct {
	node      *Node
	name      string
	root      *elem
	rootClass string
	state     int               // 0 not built, 1 being built, 2 built
	props     []decl            // prop → default characters, in tree order
	textProps map[string]string // text node id → prop
	defaults  map[string]string // prop → default characters
}

// run is a stretch of a text in one style; class is "" for the base style.
type run struct{ text, class string }

// namer hands out unique names: base, then base joined with 2, 3, ...
// (remembering where each base got to, so many equal bases stay linear).
type namer struct {
	used map[string]bool
	next map[string]int
}

func (u *namer) take(base string, join func(i int) string) string {
	if u.used == nil {
		u.used, u.next = map[string]bool{}, map[string]int{}
	}
	name := base
	if u.used[name] {
		i := max(u.next[base], 2)
		for name = join(i); u.used[name]; name = join(i) {
			i++
		}
		u.next[base] = i + 1
	}
	u.used[name] = true
	return name
}

type rule struct {
	selector string
	decls    decls
}

type asset struct{ id, format, file string }

// screen is a top-level frame of a page.
type screen struct {
	name, page string
	root       *elem
	width      float64
	height     float64
}

type converter struct {
	f         *File
	v         *vars
	rules     []rule
	classes   namer
	comps     map[string]*component
	compOrder []*component
	names     namer
	assets    []asset
	assetByID map[string]string // node id → file
	files     namer
	budget    int // elements the static page may still expand
	screens   []screen
	notes     []string
	noted     map[string]bool
	dropped   int // notes past maxNotes
	nodes     int
}

func newConverter(f *File) *converter {
	return &converter{f: f, v: newVars(f.Styles), comps: map[string]*component{}, assetByID: map[string]string{}}
}

// maxNotes bounds the notes a conversion reports.
const maxNotes = 40

func (c *converter) note(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if c.noted[msg] {
		return
	}
	if c.noted == nil {
		c.noted = map[string]bool{}
	}
	c.noted[msg] = true
	if len(c.notes) < maxNotes {
		c.notes = append(c.notes, msg)
	} else {
		c.dropped++
	}
}

// uniqueName returns a component or screen name not used yet.
func (c *converter) uniqueName(s, fallback string) string {
	base := pascal(s, fallback)
	if base == "App" || base == "React" {
		base += fallback
	}
	return c.names.take(base, func(i int) string { return fmt.Sprintf("%s%d", base, i) })
}

func (c *converter) className(id string) string {
	base := "f-" + kebab(id)
	if base == "f-" {
		base = "f-node"
	}
	return c.classes.take(base, func(i int) string { return fmt.Sprintf("%s-%d", base, i) })
}

func (c *converter) addRule(sel string, d decls) {
	if len(d) > 0 {
		c.rules = append(c.rules, rule{sel, d})
	}
}

func box(n *Node) Rect {
	if n == nil || n.AbsoluteBoundingBox == nil {
		return Rect{}
	}
	return *n.AbsoluteBoundingBox
}

var vectorTypes = map[string]bool{"VECTOR": true, "BOOLEAN_OPERATION": true, "STAR": true, "LINE": true, "REGULAR_POLYGON": true}

// build converts the document: components first (so instances find them),
// then each page's top-level frames.
func (c *converter) build(allPages bool) error {
	var pages []*Node
	for _, p := range c.f.Document.Children {
		if p != nil && p.Type == "CANVAS" {
			pages = append(pages, p)
		}
	}
	for _, p := range pages {
		c.collectComponents(p, 0)
	}
	for _, comp := range c.compOrder {
		comp.rootClass = c.className(comp.node.ID)
	}
	for _, comp := range c.compOrder {
		c.buildComponent(comp)
	}
	if !allPages && len(pages) > 1 {
		c.note("only the first page (%q) was converted; %d other pages were not", pages[0].Name, len(pages)-1)
		pages = pages[:1]
	}
	for _, p := range pages {
		for _, n := range p.Children {
			if !n.visible() {
				continue
			}
			switch n.Type {
			case "FRAME", "COMPONENT", "COMPONENT_SET", "INSTANCE", "SECTION", "GROUP":
				var root *elem
				if comp := c.comps[n.ID]; comp != nil {
					root = &elem{node: n, comp: comp}
				} else {
					root = c.elem(n, nil, 0, nil)
				}
				b := box(n)
				c.screens = append(c.screens, screen{name: c.uniqueName(n.Name, "Frame"), page: p.Name, root: root, width: b.Width, height: b.Height})
			default:
				c.note("the %s %q lies on the page outside any frame and was left out", strings.ToLower(n.Type), n.Name)
			}
		}
	}
	if len(c.screens) == 0 {
		return problem("the Figma file has no top-level frames to convert")
	}
	return nil
}

func (c *converter) collectComponents(n *Node, depth int) {
	if n == nil || depth > maxDepth {
		return
	}
	if n.Type == "COMPONENT" && n.visible() {
		comp := &component{node: n, name: c.uniqueName(n.Name, "Component"), textProps: map[string]string{}, defaults: map[string]string{}}
		used := &namer{}
		for _, reserved := range []string{"className", "figmaId", "key", "ref"} {
			used.take(reserved, nil)
		}
		c.collectTexts(n, comp, used, 0)
		c.comps[n.ID] = comp
		c.compOrder = append(c.compOrder, comp)
	}
	for _, ch := range n.Children {
		c.collectComponents(ch, depth+1)
	}
}

func (c *converter) collectTexts(n *Node, comp *component, used *namer, depth int) {
	if n == nil || depth > maxDepth || !n.visible() {
		return
	}
	if n.Type == "TEXT" {
		base := camel(n.Name)
		name := used.take(base, func(i int) string { return fmt.Sprintf("%s%d", base, i) })
		comp.textProps[n.ID] = name
		comp.defaults[name] = n.Characters
		comp.props = append(comp.props, decl{name, n.Characters})
		return
	}
	if n.Type == "INSTANCE" && depth > 0 {
		return // a nested instance keeps its own texts
	}
	for _, ch := range n.Children {
		c.collectTexts(ch, comp, used, depth+1)
	}
}

// elem converts n, a child of parent (nil for a root), with its rules.
// inComp is the component being built, whose texts become props.
func (c *converter) elem(n, parent *Node, depth int, inComp *component) *elem {
	c.nodes++
	if depth > maxDepth {
		c.note("layers nested deeper than %d levels were left out", maxDepth)
		return nil
	}
	e := &elem{node: n, tag: "div"}
	if n.Type == "INSTANCE" {
		comp := c.comps[n.ComponentID]
		if comp != nil && comp.state != 1 {
			c.buildComponent(comp)
			return c.instance(n, parent, comp)
		}
		if comp == nil {
			c.note("instances of components that are not in this file (from a library) were drawn from their layers")
		} else {
			c.note("component %q contains an instance of itself: that instance was drawn from its layers", comp.node.Name)
		}
	}
	if inComp != nil && n == inComp.node {
		e.class = inComp.rootClass
	} else {
		e.class = c.className(n.ID)
	}
	var d decls
	b := box(n)
	c.place(&d, n, parent)
	if math.Abs(n.Rotation) > 0.05*math.Pi/180 && !vectorTypes[n.Type] {
		c.note("rotated layers (such as %q) were drawn unrotated in their bounding boxes", n.Name)
	}
	switch {
	case n.Type == "TEXT":
		e.tag, e.text = "p", strings.ReplaceAll(n.Characters, "\u2028", "\n")
		if inComp != nil {
			e.prop = inComp.textProps[n.ID]
		}
		c.v.textStyle(&d, n)
		if len(n.CharacterStyleOverrides) > 0 && e.prop == "" {
			e.runs = c.runs(n, e.text)
		} else if len(n.CharacterStyleOverrides) > 0 {
			c.note("mixed styles in the component text %q were drawn in its base style (the text is a prop)", n.Name)
		}
	case vectorTypes[n.Type]:
		e.tag, e.asset = "img", n.ID
		c.addAsset(n, "svg")
		opacity(&d, n)
	default:
		hasImage := c.v.visual(&d, n, b)
		kids := visibleChildren(n)
		if hasImage && len(kids) == 0 {
			e.tag, e.asset = "img", n.ID
			c.addAsset(n, "png")
			d.add("object-fit", "cover")
		} else if hasImage {
			c.note("image fills behind other layers (%q) were not carried; the layers on top were", n.Name)
		}
		c.container(&d, n, kids)
		for _, ch := range kids {
			if ce := c.elem(ch, n, depth+1, inComp); ce != nil {
				e.children = append(e.children, ce)
			}
		}
	}
	c.addRule("."+e.class, d)
	return e
}

// runs splits a text with mixed styles into runs, each override a class
// with the fields it changes.
func (c *converter) runs(n *Node, text string) []run {
	var out []run
	classes := map[int]string{}
	cur, start := -1, 0
	rs := []rune(text)
	flush := func(end int) {
		if end > start {
			out = append(out, run{text: string(rs[start:end]), class: classes[cur]})
		}
		start = end
	}
	for i := range rs {
		id := 0
		if i < len(n.CharacterStyleOverrides) {
			id = n.CharacterStyleOverrides[i]
		}
		if _, ok := classes[id]; !ok && id != 0 {
			classes[id] = c.overrideClass(n, id)
		}
		if id != cur {
			flush(i)
			cur = id
		}
	}
	flush(len(rs))
	return out
}

func (c *converter) overrideClass(n *Node, id int) string {
	o := n.StyleOverrideTable[strconv.Itoa(id)]
	if o == nil {
		return ""
	}
	var d decls
	if o.FontFamily != "" {
		d.add("font-family", strconv.Quote(strings.ReplaceAll(o.FontFamily, `"`, ""))+", sans-serif")
	}
	if o.FontSize > 0 {
		d.add("font-size", px(o.FontSize))
	}
	if o.FontWeight > 0 {
		d.add("font-weight", num(o.FontWeight))
	}
	if o.Italic {
		d.add("font-style", "italic")
	}
	if o.LetterSpacing != 0 {
		d.add("letter-spacing", px(o.LetterSpacing))
	}
	if t := map[string]string{"UNDERLINE": "underline", "STRIKETHROUGH": "line-through"}[o.TextDecoration]; t != "" {
		d.add("text-decoration", t)
	}
	for i := len(o.Fills) - 1; i >= 0; i-- {
		if f := o.Fills[i]; f.visible() && f.Type == "SOLID" && f.Color != nil {
			d.add("color", c.v.color(css(*f.Color, paintOpacity(f)), ""))
			break
		}
	}
	if len(d) == 0 {
		return ""
	}
	cls := c.className(n.ID + "-s" + strconv.Itoa(id))
	c.addRule("."+cls, d)
	return cls
}

// buildComponent builds a component's tree once; the components its
// instances use are built first.
func (c *converter) buildComponent(comp *component) {
	if comp.state != 0 {
		return
	}
	comp.state = 1
	comp.root = c.elem(comp.node, nil, 0, comp)
	comp.state = 2
}

func visibleChildren(n *Node) []*Node {
	var out []*Node
	for _, ch := range n.Children {
		if ch != nil && ch.visible() && ch.Type != "SLICE" {
			out = append(out, ch)
		}
	}
	return out
}

// instance is an INSTANCE of a component in the file: its placement and its
// text overrides; the component draws the rest.
func (c *converter) instance(n, parent *Node, comp *component) *elem {
	e := &elem{node: n, comp: comp, class: c.className(n.ID)}
	var d decls
	c.place(&d, n, parent)
	c.addRule("."+comp.rootClass+"."+e.class, d)
	set := map[string]bool{}
	var walk func(*Node, int)
	walk = func(x *Node, depth int) {
		if x == nil || depth > maxDepth || !x.visible() {
			return
		}
		if x.Type == "TEXT" {
			src := x.ID[strings.LastIndex(x.ID, ";")+1:]
			if p, ok := comp.textProps[src]; ok && !set[p] && comp.defaults[p] != x.Characters {
				e.props = append(e.props, decl{p, x.Characters})
				set[p] = true
			}
			return
		}
		if x.Type == "INSTANCE" && depth > 0 {
			return
		}
		for _, ch := range x.Children {
			walk(ch, depth+1)
		}
	}
	walk(n, 0)
	return e
}

func (c *converter) addAsset(n *Node, format string) {
	if _, ok := c.assetByID[n.ID]; ok {
		return
	}
	base := kebab(n.Name)
	if base == "" {
		base = strings.ToLower(n.Type)
	}
	stem := base + "-" + kebab(n.ID)
	file := c.files.take(stem+"."+format, func(i int) string { return fmt.Sprintf("%s-%d.%s", stem, i, format) })
	c.assetByID[n.ID] = file
	c.assets = append(c.assets, asset{id: n.ID, format: format, file: file})
}
