package figma

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// decl is one CSS declaration; a rule's declarations keep their order.
type decl struct{ prop, val string }

type decls []decl

func (d *decls) add(prop, val string) { *d = append(*d, decl{prop, val}) }

func px(v float64) string { return num(v) + "px" }

// num prints v with at most two decimals and no trailing zeros.
func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	v = math.Round(v*100) / 100
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return math.Min(v, 1)
}

// css prints a colour: #rrggbb when opaque, else rgba().
func css(c Color, opacity float64) string {
	ch := func(v float64) int { return int(math.Round(clamp01(v) * 255)) }
	a := clamp01(c.A) * clamp01(opacity)
	if a >= 0.999 {
		return fmt.Sprintf("#%02x%02x%02x", ch(c.R), ch(c.G), ch(c.B))
	}
	return fmt.Sprintf("rgba(%d, %d, %d, %s)", ch(c.R), ch(c.G), ch(c.B), num(math.Round(a*1000)/1000))
}

func paintOpacity(p Paint) float64 {
	if p.Opacity == nil {
		return 1
	}
	return *p.Opacity
}

// vars names the document's colours and text styles as CSS variables, in
// the order they are first met (named after the file's styles when a node
// uses one).
type vars struct {
	styles map[string]Style
	colors map[string]string // css colour (and style id when named) → variable
	order  []decl            // variable → value, in order
	used   namer             // variable names taken
	texts  map[string]string // text style key → variable prefix
}

func newVars(styles map[string]Style) *vars {
	return &vars{styles: styles, colors: map[string]string{}, texts: map[string]string{}}
}

func (v *vars) name(prefix, styleID string, n int) string {
	base := ""
	if s, ok := v.styles[styleID]; ok && styleID != "" {
		base = kebab(s.Name)
	}
	if base == "" {
		base = strconv.Itoa(n)
	}
	return v.used.take("--"+prefix+"-"+base, func(i int) string { return fmt.Sprintf("--%s-%s-%d", prefix, base, i) })
}

// color returns var(--color-x) for a colour, declaring it when new.
func (v *vars) color(value, styleID string) string {
	key := value
	if _, named := v.styles[styleID]; named {
		key += "|" + styleID
	}
	if name, ok := v.colors[key]; ok {
		return "var(" + name + ")"
	}
	name := v.name("color", styleID, len(v.colors)+1)
	v.colors[key] = name
	v.order = append(v.order, decl{name, value})
	return "var(" + name + ")"
}

// text declares a text style's variables and returns their prefix.
func (v *vars) text(s *TypeStyle, styleID string) string {
	key := fmt.Sprintf("%s|%v|%v|%v|%v|%s|%v|%v", s.FontFamily, s.FontWeight, s.FontSize, s.Italic, s.LetterSpacing, s.LineHeightUnit, s.LineHeightPx, s.LineHeightPercentFS)
	if p, ok := v.texts[key]; ok {
		return p
	}
	p := v.name("text", styleID, len(v.texts)+1)
	v.texts[key] = p
	family := "sans-serif"
	if s.FontFamily != "" {
		family = strconv.Quote(strings.ReplaceAll(s.FontFamily, `"`, "")) + ", sans-serif"
	}
	weight := s.FontWeight
	if weight <= 0 {
		weight = 400
	}
	lh := "normal"
	switch s.LineHeightUnit {
	case "PIXELS":
		if s.LineHeightPx > 0 {
			lh = px(s.LineHeightPx)
		}
	case "FONT_SIZE_%":
		if s.LineHeightPercentFS > 0 {
			lh = num(s.LineHeightPercentFS) + "%"
		}
	}
	size := s.FontSize
	if size <= 0 {
		size = 16
	}
	v.order = append(v.order, decl{p + "-family", family}, decl{p + "-size", px(size)}, decl{p + "-weight", num(weight)},
		decl{p + "-line-height", lh}, decl{p + "-letter-spacing", px(s.LetterSpacing)})
	return p
}

// fills returns the background of a node's visible paints (an image fill
// is left to the caller). The last paint is on top, as in CSS's first layer.
func (v *vars) fills(n *Node, box Rect) (bg string, hasImage bool) {
	var layers []string
	for i := len(n.Fills) - 1; i >= 0; i-- {
		p := n.Fills[i]
		if !p.visible() {
			continue
		}
		switch p.Type {
		case "SOLID":
			if p.Color != nil {
				layers = append(layers, v.color(css(*p.Color, paintOpacity(p)), n.Styles["fill"]))
			}
		case "GRADIENT_LINEAR":
			if g := v.linear(p, box); g != "" {
				layers = append(layers, g)
			}
		case "IMAGE":
			hasImage = true
		}
	}
	if len(layers) == 1 {
		return layers[0], hasImage
	}
	for i, l := range layers {
		if strings.HasPrefix(l, "var(") { // a solid colour as a layer
			layers[i] = "linear-gradient(" + l + ", " + l + ")"
		}
	}
	return strings.Join(layers, ", "), hasImage
}

// linear is a GRADIENT_LINEAR paint as a CSS linear-gradient: the angle and
// stop positions are mapped from Figma's handles onto CSS's gradient line
// over the node's box, so the colours land where they do in Figma.
func (v *vars) linear(p Paint, box Rect) string {
	if len(p.Handles) < 2 || len(p.Stops) == 0 {
		return ""
	}
	w, h := math.Max(box.Width, 1), math.Max(box.Height, 1)
	x0, y0 := p.Handles[0].X*w, p.Handles[0].Y*h
	x1, y1 := p.Handles[1].X*w, p.Handles[1].Y*h
	dx, dy := x1-x0, y1-y0
	if dx == 0 && dy == 0 {
		dy = 1
	}
	ang := math.Atan2(dx, -dy) // CSS: 0 is up, clockwise
	deg := math.Mod(ang*180/math.Pi+360, 360)
	ux, uy := math.Sin(ang), -math.Cos(ang)
	half := (math.Abs(w*math.Sin(ang)) + math.Abs(h*math.Cos(ang))) / 2
	at := func(x, y float64) float64 { return ((x-w/2)*ux + (y-h/2)*uy + half) / (2 * half) }
	t0, t1 := at(x0, y0), at(x1, y1)
	stops := append([]ColorAt(nil), p.Stops...)
	sort.SliceStable(stops, func(i, j int) bool { return stops[i].Position < stops[j].Position })
	parts := []string{num(deg) + "deg"}
	for _, s := range stops {
		pos := (t0 + clamp01(s.Position)*(t1-t0)) * 100
		parts = append(parts, css(s.Color, paintOpacity(p))+" "+num(pos)+"%")
	}
	return "linear-gradient(" + strings.Join(parts, ", ") + ")"
}

// visual adds fills, strokes, radii, effects and opacity of a non-text node.
func (v *vars) visual(d *decls, n *Node, box Rect) (hasImage bool) {
	bg, hasImage := v.fills(n, box)
	if bg != "" {
		if strings.HasPrefix(bg, "var(") {
			d.add("background-color", bg)
		} else {
			d.add("background", bg)
		}
	}
	v.stroke(d, n)
	switch {
	case n.Type == "ELLIPSE":
		d.add("border-radius", "50%")
	case len(n.RectangleRadii) == 4 && !(n.RectangleRadii[0] == n.RectangleRadii[1] && n.RectangleRadii[1] == n.RectangleRadii[2] && n.RectangleRadii[2] == n.RectangleRadii[3]):
		r := n.RectangleRadii
		d.add("border-radius", px(r[0])+" "+px(r[1])+" "+px(r[2])+" "+px(r[3]))
	case n.CornerRadius > 0:
		d.add("border-radius", px(n.CornerRadius))
	case len(n.RectangleRadii) == 4 && n.RectangleRadii[0] > 0:
		d.add("border-radius", px(n.RectangleRadii[0]))
	}
	if sh := v.shadows(n, false); sh != "" {
		d.add("box-shadow", sh)
	}
	v.blur(d, n)
	if n.ClipsContent {
		d.add("overflow", "hidden")
	}
	opacity(d, n)
	return hasImage
}

// stroke draws the first visible solid stroke as an outline, which (like
// Figma's strokes) takes no room in the layout.
func (v *vars) stroke(d *decls, n *Node) {
	if n.StrokeWeight <= 0 {
		return
	}
	for i := len(n.Strokes) - 1; i >= 0; i-- {
		p := n.Strokes[i]
		if !p.visible() || p.Type != "SOLID" || p.Color == nil {
			continue
		}
		c := v.color(css(*p.Color, paintOpacity(p)), n.Styles["stroke"])
		if n.Type == "TEXT" {
			d.add("-webkit-text-stroke", px(n.StrokeWeight)+" "+c)
			return
		}
		d.add("outline", px(n.StrokeWeight)+" solid "+c)
		off := 0.0
		switch n.StrokeAlign {
		case "INSIDE", "":
			off = -n.StrokeWeight
		case "CENTER":
			off = -n.StrokeWeight / 2
		}
		d.add("outline-offset", px(off))
		return
	}
}

func (v *vars) shadows(n *Node, text bool) string {
	var out []string
	for _, e := range n.Effects {
		if !e.visible() || e.Color == nil || (e.Type != "DROP_SHADOW" && e.Type != "INNER_SHADOW") {
			continue
		}
		off := Vector{}
		if e.Offset != nil {
			off = *e.Offset
		}
		c := css(*e.Color, 1)
		if text {
			if e.Type == "DROP_SHADOW" {
				out = append(out, px(off.X)+" "+px(off.Y)+" "+px(e.Radius)+" "+c)
			}
			continue
		}
		s := px(off.X) + " " + px(off.Y) + " " + px(e.Radius) + " " + px(e.Spread) + " " + c
		if e.Type == "INNER_SHADOW" {
			s = "inset " + s
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func (v *vars) blur(d *decls, n *Node) {
	for _, e := range n.Effects {
		if !e.visible() || e.Radius <= 0 {
			continue
		}
		switch e.Type {
		case "LAYER_BLUR":
			d.add("filter", "blur("+px(e.Radius/2)+")")
		case "BACKGROUND_BLUR":
			d.add("backdrop-filter", "blur("+px(e.Radius/2)+")")
		}
	}
}

func opacity(d *decls, n *Node) {
	if n.Opacity != nil && *n.Opacity < 1 {
		d.add("opacity", num(clamp01(*n.Opacity)))
	}
}

// textStyle adds a text node's font, colour and alignment.
func (v *vars) textStyle(d *decls, n *Node) {
	s := n.Style
	if s == nil {
		s = &TypeStyle{}
	}
	p := v.text(s, n.Styles["text"])
	d.add("font-family", "var("+p+"-family)")
	d.add("font-size", "var("+p+"-size)")
	d.add("font-weight", "var("+p+"-weight)")
	d.add("line-height", "var("+p+"-line-height)")
	d.add("letter-spacing", "var("+p+"-letter-spacing)")
	if s.Italic {
		d.add("font-style", "italic")
	}
	for i := len(n.Fills) - 1; i >= 0; i-- {
		f := n.Fills[i]
		if f.visible() && f.Type == "SOLID" && f.Color != nil {
			d.add("color", v.color(css(*f.Color, paintOpacity(f)), n.Styles["fill"]))
			break
		}
	}
	if a := map[string]string{"CENTER": "center", "RIGHT": "right", "JUSTIFIED": "justify"}[s.TextAlignHorizontal]; a != "" {
		d.add("text-align", a)
	}
	if j := map[string]string{"CENTER": "center", "BOTTOM": "flex-end"}[s.TextAlignVertical]; j != "" {
		d.add("display", "flex")
		d.add("flex-direction", "column")
		d.add("justify-content", j)
	}
	if t := map[string]string{"UPPER": "uppercase", "LOWER": "lowercase", "TITLE": "capitalize"}[s.TextCase]; t != "" {
		d.add("text-transform", t)
	}
	if t := map[string]string{"UNDERLINE": "underline", "STRIKETHROUGH": "line-through"}[s.TextDecoration]; t != "" {
		d.add("text-decoration", t)
	}
	d.add("white-space", "pre-wrap")
	d.add("margin", "0")
	v.stroke(d, n)
	if sh := v.shadows(n, true); sh != "" {
		d.add("text-shadow", sh)
	}
	opacity(d, n)
}

// kebab makes a CSS-safe lower-case name.
func kebab(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// pascal makes a component name: PascalCase, starting with a letter.
func pascal(s, fallback string) string {
	var b strings.Builder
	up := true
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			if up && r >= 'a' && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteRune(r)
			up = false
		} else {
			up = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	out := b.String()
	if out == "" {
		out = fallback
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = fallback + out
	}
	return out
}

// camel makes a prop name: camelCase, starting with a letter.
func camel(s string) string {
	p := pascal(s, "Text")
	return strings.ToLower(p[:1]) + p[1:]
}
