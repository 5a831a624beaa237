package figma

// Sizing on one axis, as Figma names it.
const (
	fixed = "FIXED"
	hug   = "HUG"
	fill  = "FILL"
)

func autoLayout(n *Node) bool {
	return n != nil && (n.LayoutMode == "HORIZONTAL" || n.LayoutMode == "VERTICAL")
}

// sizing is how n sizes horizontally and vertically in parent, from
// layoutSizing* or, in older files, the legacy fields; FILL only inside an
// auto-layout parent, HUG only for auto-layout frames and text.
func sizing(n, parent *Node) (h, v string) {
	h, v = n.LayoutSizingHorizontal, n.LayoutSizingVertical
	if h == "" || v == "" {
		h, v = fixed, fixed
		if n.Type == "TEXT" && n.Style != nil {
			switch n.Style.TextAutoResize {
			case "WIDTH_AND_HEIGHT":
				h, v = hug, hug
			case "HEIGHT":
				v = hug
			}
		}
		if autoLayout(n) {
			p, q := &h, &v
			if n.LayoutMode == "VERTICAL" {
				p, q = q, p
			}
			if n.PrimaryAxisSizingMode == "AUTO" {
				*p = hug
			}
			if n.CounterAxisSizingMode == "AUTO" {
				*q = hug
			}
		}
		if autoLayout(parent) {
			p, q := &h, &v
			if parent.LayoutMode == "VERTICAL" {
				p, q = q, p
			}
			if n.LayoutGrow >= 1 {
				*p = fill
			}
			if n.LayoutAlign == "STRETCH" {
				*q = fill
			}
		}
	}
	inFlow := autoLayout(parent) && n.LayoutPositioning != "ABSOLUTE"
	canHug := autoLayout(n) || n.Type == "TEXT"
	norm := func(s string) string {
		switch {
		case s == fill && inFlow, s == hug && canHug:
			return s
		}
		return fixed
	}
	return norm(h), norm(v)
}

// place adds how n sits in its parent: flex item sizing inside auto-layout,
// else absolute from the difference of the bounding boxes; a root keeps its
// designed size.
func (c *converter) place(d *decls, n, parent *Node) {
	b := box(n)
	h, v := sizing(n, parent)
	size := func(prop, s string, v float64) {
		switch s {
		case fixed:
			d.add(prop, px(v))
		case hug:
			if parent == nil || !autoLayout(parent) {
				d.add(prop, "fit-content")
			} else {
				d.add(prop, "auto")
			}
		}
	}
	switch {
	case parent == nil:
		d.add("position", "relative")
		size("width", h, b.Width)
		size("height", v, b.Height)
	case autoLayout(parent) && n.LayoutPositioning != "ABSOLUTE":
		row := parent.LayoutMode == "HORIZONTAL"
		mainS, crossS := h, v
		mainP, crossP := "width", "height"
		mainV, crossV := b.Width, b.Height
		if !row {
			mainS, crossS, mainP, crossP, mainV, crossV = v, h, "height", "width", b.Height, b.Width
		}
		if len(n.Children) > 0 {
			d.add("position", "relative")
		}
		if mainS == fill {
			d.add("flex", "1 1 0")
			d.add("min-"+mainP, "0")
		} else {
			d.add("flex-shrink", "0")
			size(mainP, mainS, mainV)
		}
		if crossS == fill {
			d.add("align-self", "stretch")
			d.add(crossP, "auto")
		} else {
			size(crossP, crossS, crossV)
		}
	default:
		pb := box(parent)
		d.add("position", "absolute")
		d.add("left", px(b.X-pb.X))
		d.add("top", px(b.Y-pb.Y))
		size("width", h, b.Width)
		size("height", v, b.Height)
	}
}

// container adds an auto-layout frame's flexbox.
func (c *converter) container(d *decls, n *Node, kids []*Node) {
	if !autoLayout(n) {
		return
	}
	d.add("display", "flex")
	row := n.LayoutMode == "HORIZONTAL"
	if row {
		d.add("flex-direction", "row")
	} else {
		d.add("flex-direction", "column")
	}
	between := n.PrimaryAxisAlignItems == "SPACE_BETWEEN"
	wrap := row && n.LayoutWrap == "WRAP"
	switch {
	case wrap && !between:
		d.add("gap", px(n.CounterAxisSpacing)+" "+px(n.ItemSpacing))
	case wrap:
		d.add("row-gap", px(n.CounterAxisSpacing))
	case !between && n.ItemSpacing != 0:
		d.add("gap", px(n.ItemSpacing))
	}
	if wrap {
		d.add("flex-wrap", "wrap")
	}
	if n.PaddingTop != 0 || n.PaddingRight != 0 || n.PaddingBottom != 0 || n.PaddingLeft != 0 {
		d.add("padding", px(n.PaddingTop)+" "+px(n.PaddingRight)+" "+px(n.PaddingBottom)+" "+px(n.PaddingLeft))
	}
	justify := map[string]string{"CENTER": "center", "MAX": "flex-end", "SPACE_BETWEEN": "space-between"}[n.PrimaryAxisAlignItems]
	if justify == "" {
		justify = "flex-start"
	}
	d.add("justify-content", justify)
	align := map[string]string{"CENTER": "center", "MAX": "flex-end", "BASELINE": "baseline"}[n.CounterAxisAlignItems]
	if align == "" {
		align = "flex-start"
	}
	d.add("align-items", align)
	if wrap {
		d.add("align-content", "flex-start")
	}
	for _, k := range kids {
		if k.LayoutPositioning == "ABSOLUTE" {
			if !hasDecl(*d, "position") {
				d.add("position", "relative")
			}
			break
		}
	}
}

func hasDecl(d decls, prop string) bool {
	for _, x := range d {
		if x.prop == prop {
			return true
		}
	}
	return false
}
