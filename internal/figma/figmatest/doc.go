// Package figmatest builds Figma documents for tests and benchmarks and
// serves them from a fake Figma REST API (GET /v1/files/:key and
// /v1/images/:key, with X-Figma-Token checks and scripted 429s).
package figmatest

import (
	"fmt"

	"ecode/internal/figma"
)

func rect(x, y, w, h float64) *figma.Rect { return &figma.Rect{X: x, Y: y, Width: w, Height: h} }

func solid(r, g, b float64) []figma.Paint {
	return []figma.Paint{{Type: "SOLID", Color: &figma.Color{R: r, G: g, B: b, A: 1}}}
}

func text(id, name, chars string, box *figma.Rect, size float64) *figma.Node {
	return &figma.Node{ID: id, Name: name, Type: "TEXT", Characters: chars, AbsoluteBoundingBox: box,
		Fills: solid(0.1, 0.1, 0.1), LayoutSizingHorizontal: "FIXED", LayoutSizingVertical: "FIXED",
		Style: &figma.TypeStyle{FontFamily: "Inter", FontWeight: 600, FontSize: size, LineHeightUnit: "PIXELS", LineHeightPx: 24,
			LetterSpacing: 0.5, TextAlignHorizontal: "LEFT", TextAutoResize: "NONE"}}
}

// Expected boxes of the test document's key layers, relative to the
// Landing frame's top-left corner, as Figma lays them out.
var Expected = map[string]figma.Rect{
	"1:2":  {X: 0, Y: 0, Width: 400, Height: 330},    // Landing
	"1:3":  {X: 24, Y: 24, Width: 352, Height: 40},   // Header (auto-layout row, space between)
	"1:4":  {X: 24, Y: 24, Width: 40, Height: 40},    // Logo (image)
	"1:5":  {X: 108, Y: 32, Width: 24, Height: 24},   // Icon (vector, centred)
	"1:6":  {X: 176, Y: 24, Width: 200, Height: 40},  // Title (text)
	"1:7":  {X: 24, Y: 80, Width: 352, Height: 120},  // Card (absolute children)
	"1:8":  {X: 40, Y: 96, Width: 60, Height: 24},    // Badge
	"1:9":  {X: 40, Y: 136, Width: 200, Height: 24},  // Card text
	"1:10": {X: 24, Y: 216, Width: 352, Height: 40},  // Buttons (row, gap 12)
	"1:11": {X: 24, Y: 216, Width: 170, Height: 40},  // Buy (instance, fill)
	"1:12": {X: 206, Y: 216, Width: 170, Height: 40}, // Cancel (instance, fill)
}

// Colours of the test document, as CSS prints them.
const (
	WhiteBackground = "rgb(255, 255, 255)"
	ButtonBlue      = "rgb(37, 99, 235)"
	BadgeGreen      = "rgb(22, 163, 74)"
)

// Document is a file with nested auto-layout frames, text, an image, a
// vector, a frame with absolutely placed layers, a gradient, a stroke, a
// shadow, and a component (on a second page) with two instances whose label
// is overridden.
func Document() *figma.File {
	const fx, fy = 100, 50
	at := func(id string) *figma.Rect {
		r := Expected[id]
		return rect(fx+r.X, fy+r.Y, r.Width, r.Height)
	}
	button := func(id, label string, box *figma.Rect, fill bool) *figma.Node {
		n := &figma.Node{ID: id, Name: "Button", Type: "INSTANCE", ComponentID: "2:1", AbsoluteBoundingBox: box,
			LayoutMode: "HORIZONTAL", PaddingTop: 8, PaddingBottom: 8, PaddingLeft: 16, PaddingRight: 16,
			PrimaryAxisAlignItems: "CENTER", CounterAxisAlignItems: "CENTER", Fills: solid(37.0/255, 99.0/255, 235.0/255),
			CornerRadius: 8, LayoutSizingHorizontal: "FIXED", LayoutSizingVertical: "FIXED"}
		if fill {
			n.LayoutSizingHorizontal = "FILL"
		}
		t := text(id+";2:2", "Label", label, rect(box.X+(box.Width-88)/2, box.Y+8, 88, 24), 14)
		if id == "2:1" {
			t.ID = "2:2"
		}
		t.Fills = solid(1, 1, 1)
		t.Style.TextAlignHorizontal = "CENTER"
		n.Children = []*figma.Node{t}
		return n
	}
	comp := button("2:1", "Label", rect(0, 0, 120, 40), false)
	comp.Type, comp.ComponentID = "COMPONENT", ""
	badgeOpacity := 0.9
	landing := &figma.Node{ID: "1:2", Name: "Landing", Type: "FRAME", AbsoluteBoundingBox: at("1:2"),
		LayoutMode: "VERTICAL", ItemSpacing: 16, PaddingTop: 24, PaddingBottom: 24, PaddingLeft: 24, PaddingRight: 24,
		LayoutSizingHorizontal: "FIXED", LayoutSizingVertical: "FIXED", Fills: solid(1, 1, 1), Styles: map[string]string{"fill": "S:white"},
		ClipsContent: true,
		Children: []*figma.Node{
			{ID: "1:3", Name: "Header", Type: "FRAME", AbsoluteBoundingBox: at("1:3"), LayoutMode: "HORIZONTAL",
				PrimaryAxisAlignItems: "SPACE_BETWEEN", CounterAxisAlignItems: "CENTER", ItemSpacing: 10,
				LayoutSizingHorizontal: "FILL", LayoutSizingVertical: "HUG",
				Children: []*figma.Node{
					{ID: "1:4", Name: "Logo", Type: "RECTANGLE", AbsoluteBoundingBox: at("1:4"), CornerRadius: 20,
						LayoutSizingHorizontal: "FIXED", LayoutSizingVertical: "FIXED",
						Fills: []figma.Paint{{Type: "IMAGE", ImageRef: "img-logo", Scale: "FILL"}}},
					{ID: "1:5", Name: "Icon", Type: "VECTOR", AbsoluteBoundingBox: at("1:5"),
						LayoutSizingHorizontal: "FIXED", LayoutSizingVertical: "FIXED", Fills: solid(0, 0, 0)},
					text("1:6", "Title", "Hello, Figma", at("1:6"), 24),
				}},
			{ID: "1:7", Name: "Card", Type: "FRAME", AbsoluteBoundingBox: at("1:7"), CornerRadius: 12,
				LayoutSizingHorizontal: "FILL", LayoutSizingVertical: "FIXED",
				Fills: []figma.Paint{{Type: "GRADIENT_LINEAR",
					Handles: []figma.Vector{{X: 0, Y: 0.5}, {X: 1, Y: 0.5}, {X: 0, Y: 1}},
					Stops:   []figma.ColorAt{{Position: 0, Color: figma.Color{R: 1, G: 0.9, B: 0.8, A: 1}}, {Position: 1, Color: figma.Color{R: 0.8, G: 0.9, B: 1, A: 1}}}}},
				Strokes: solid(0.8, 0.8, 0.8), StrokeWeight: 1, StrokeAlign: "INSIDE",
				Effects: []figma.Effect{{Type: "DROP_SHADOW", Color: &figma.Color{A: 0.25}, Offset: &figma.Vector{X: 0, Y: 4}, Radius: 8}},
				Children: []*figma.Node{
					{ID: "1:8", Name: "Badge", Type: "RECTANGLE", AbsoluteBoundingBox: at("1:8"), CornerRadius: 4, Opacity: &badgeOpacity,
						Fills: solid(22.0/255, 163.0/255, 74.0/255), Styles: map[string]string{"fill": "S:green"}},
					text("1:9", "Caption", "Made from a design", at("1:9"), 16),
				}},
			{ID: "1:10", Name: "Buttons", Type: "FRAME", AbsoluteBoundingBox: at("1:10"), LayoutMode: "HORIZONTAL", ItemSpacing: 12,
				LayoutSizingHorizontal: "FILL", LayoutSizingVertical: "HUG",
				Children: []*figma.Node{
					button("1:11", "Buy now", at("1:11"), true),
					button("1:12", "Cancel", at("1:12"), true),
				}},
		}}
	return &figma.File{Name: "Test design", EditorType: "figma", Version: "42", LastModified: "2026-01-02T03:04:05Z",
		Document: &figma.Node{ID: "0:0", Name: "Document", Type: "DOCUMENT", Children: []*figma.Node{
			{ID: "0:1", Name: "Home", Type: "CANVAS", Children: []*figma.Node{landing}},
			{ID: "0:2", Name: "Components", Type: "CANVAS", Children: []*figma.Node{comp}},
		}},
		Components: map[string]figma.Component{"2:1": {Key: "k-button", Name: "Button"}},
		Styles: map[string]figma.Style{"S:white": {Name: "Surface/White", StyleType: "FILL"},
			"S:green": {Name: "Brand/Green", StyleType: "FILL"}},
	}
}

// Generated is a document of about n layers: frames of cards in
// auto-layout rows, each card with text, a rectangle and a button instance.
func Generated(n int) *figma.File {
	f := Document()
	page := f.Document.Children[0]
	page.Children = nil
	count, screen := 0, 0
	for count < n {
		screen++
		sid := fmt.Sprintf("10:%d", screen)
		frame := &figma.Node{ID: sid, Name: fmt.Sprintf("Screen %d", screen), Type: "FRAME", AbsoluteBoundingBox: rect(0, float64(screen)*2000, 1200, 1800),
			LayoutMode: "VERTICAL", ItemSpacing: 24, PaddingTop: 32, PaddingLeft: 32, PaddingRight: 32, PaddingBottom: 32, Fills: solid(1, 1, 1)}
		count++
		for r := 0; r < 10 && count < n; r++ {
			row := &figma.Node{ID: fmt.Sprintf("%s:r%d", sid, r), Name: "Row", Type: "FRAME", LayoutMode: "HORIZONTAL", ItemSpacing: 16,
				LayoutWrap: "WRAP", CounterAxisSpacing: 16, AbsoluteBoundingBox: rect(32, float64(screen)*2000+32+float64(r)*170, 1136, 150),
				LayoutSizingHorizontal: "FILL", LayoutSizingVertical: "HUG"}
			count++
			for k := 0; k < 5 && count < n; k++ {
				x := 32 + float64(k)*230
				y := row.AbsoluteBoundingBox.Y
				cid := fmt.Sprintf("%s:c%d", row.ID, k)
				card := &figma.Node{ID: cid, Name: "Card", Type: "FRAME", AbsoluteBoundingBox: rect(x, y, 214, 150), CornerRadius: 8,
					Fills: solid(0.95, 0.95, 0.97), Children: []*figma.Node{
						text(cid+":t", "Title", fmt.Sprintf("Card %d", count), rect(x+12, y+12, 190, 24), 16),
						{ID: cid + ":b", Name: "Bar", Type: "RECTANGLE", AbsoluteBoundingBox: rect(x+12, y+44, 190, 8), Fills: solid(0.2, 0.5, 0.9)},
						{ID: cid + ":i", Name: "Button", Type: "INSTANCE", ComponentID: "2:1", AbsoluteBoundingBox: rect(x+12, y+98, 120, 40),
							Children: []*figma.Node{text(cid+":i;2:2", "Label", "Open", rect(x+28, y+106, 88, 24), 14)}},
					}}
				row.Children = append(row.Children, card)
				count += 5
			}
			frame.Children = append(frame.Children, row)
		}
		page.Children = append(page.Children, frame)
	}
	return f
}
