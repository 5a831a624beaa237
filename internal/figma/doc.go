// Package figma turns a Figma file (the JSON of the REST API's
// GET /v1/files/:key) into a Vite + React + TypeScript project: each
// top-level frame a component and a page that shows them, auto-layout as
// flexbox, other frames positioned absolutely, text styles, fills, strokes,
// radii, shadows and opacity carried, components and instances as reusable
// React components with their text overrides, colours and text styles as
// CSS variables, and images and vectors rendered through GET /v1/images
// into src/assets. The same tree is also written as one static HTML page
// (figma-static.html). Output is deterministic. It imports nothing internal.
package figma

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// File is the part of GET /v1/files/:key the converter reads.
type File struct {
	Name         string               `json:"name"`
	EditorType   string               `json:"editorType"`
	Version      string               `json:"version"`
	LastModified string               `json:"lastModified"`
	Document     *Node                `json:"document"`
	Components   map[string]Component `json:"components"`
	Styles       map[string]Style     `json:"styles"`
}

// Component is an entry of the file's components map.
type Component struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Remote bool   `json:"remote"`
}

// Style is an entry of the file's styles map (a named colour, text or
// effect style).
type Style struct {
	Name      string `json:"name"`
	StyleType string `json:"styleType"`
}

// Node is a node of the document tree, with the fields the converter uses.
type Node struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Type     string  `json:"type"`
	Visible  *bool   `json:"visible"`
	Children []*Node `json:"children"`

	AbsoluteBoundingBox *Rect     `json:"absoluteBoundingBox"`
	Fills               []Paint   `json:"fills"`
	Strokes             []Paint   `json:"strokes"`
	StrokeWeight        float64   `json:"strokeWeight"`
	StrokeAlign         string    `json:"strokeAlign"`
	CornerRadius        float64   `json:"cornerRadius"`
	RectangleRadii      []float64 `json:"rectangleCornerRadii"`
	Effects             []Effect  `json:"effects"`
	Opacity             *float64  `json:"opacity"`
	ClipsContent        bool      `json:"clipsContent"`
	Rotation            float64   `json:"rotation"` // radians

	LayoutMode             string  `json:"layoutMode"` // NONE, HORIZONTAL, VERTICAL
	LayoutWrap             string  `json:"layoutWrap"` // NO_WRAP, WRAP
	ItemSpacing            float64 `json:"itemSpacing"`
	CounterAxisSpacing     float64 `json:"counterAxisSpacing"`
	PaddingLeft            float64 `json:"paddingLeft"`
	PaddingRight           float64 `json:"paddingRight"`
	PaddingTop             float64 `json:"paddingTop"`
	PaddingBottom          float64 `json:"paddingBottom"`
	PrimaryAxisAlignItems  string  `json:"primaryAxisAlignItems"`
	CounterAxisAlignItems  string  `json:"counterAxisAlignItems"`
	PrimaryAxisSizingMode  string  `json:"primaryAxisSizingMode"` // legacy: FIXED, AUTO
	CounterAxisSizingMode  string  `json:"counterAxisSizingMode"`
	LayoutSizingHorizontal string  `json:"layoutSizingHorizontal"` // FIXED, HUG, FILL
	LayoutSizingVertical   string  `json:"layoutSizingVertical"`
	LayoutGrow             float64 `json:"layoutGrow"`  // legacy: 1 is FILL on the parent's primary axis
	LayoutAlign            string  `json:"layoutAlign"` // legacy: STRETCH is FILL on the counter axis
	LayoutPositioning      string  `json:"layoutPositioning"`

	Characters string     `json:"characters"`
	Style      *TypeStyle `json:"style"`
	// Mixed styles: a style id per character (code point; 0 or past the
	// end is the base style) and the partial styles they name.
	CharacterStyleOverrides []int                 `json:"characterStyleOverrides"`
	StyleOverrideTable      map[string]*TypeStyle `json:"styleOverrideTable"`
	Styles                  map[string]string     `json:"styles"` // fill, stroke, text, effect → style id

	ComponentID string `json:"componentId"`
}

// Rect is a box in absolute canvas coordinates.
type Rect struct {
	X      float64 `json:"x"`
	Y      float64 `json:"y"`
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// Color has components from 0 to 1.
type Color struct {
	R float64 `json:"r"`
	G float64 `json:"g"`
	B float64 `json:"b"`
	A float64 `json:"a"`
}

// Vector is a point in a paint's 0–1 box space, or an offset in pixels.
type Vector struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// Paint is a fill or stroke.
type Paint struct {
	Type     string    `json:"type"` // SOLID, GRADIENT_LINEAR, IMAGE, ...
	Visible  *bool     `json:"visible"`
	Opacity  *float64  `json:"opacity"`
	Color    *Color    `json:"color"`
	Handles  []Vector  `json:"gradientHandlePositions"`
	Stops    []ColorAt `json:"gradientStops"`
	ImageRef string    `json:"imageRef"`
	Scale    string    `json:"scaleMode"`
}

// ColorAt is a gradient stop.
type ColorAt struct {
	Position float64 `json:"position"`
	Color    Color   `json:"color"`
}

// Effect is a shadow or blur.
type Effect struct {
	Type    string  `json:"type"` // DROP_SHADOW, INNER_SHADOW, LAYER_BLUR, BACKGROUND_BLUR
	Visible *bool   `json:"visible"`
	Color   *Color  `json:"color"`
	Offset  *Vector `json:"offset"`
	Radius  float64 `json:"radius"`
	Spread  float64 `json:"spread"`
}

// TypeStyle is a text node's style.
type TypeStyle struct {
	FontFamily          string  `json:"fontFamily"`
	FontWeight          float64 `json:"fontWeight"`
	FontSize            float64 `json:"fontSize"`
	Italic              bool    `json:"italic"`
	LetterSpacing       float64 `json:"letterSpacing"`
	LineHeightPx        float64 `json:"lineHeightPx"`
	LineHeightPercentFS float64 `json:"lineHeightPercentFontSize"`
	LineHeightUnit      string  `json:"lineHeightUnit"` // PIXELS, FONT_SIZE_%, INTRINSIC_%
	TextAlignHorizontal string  `json:"textAlignHorizontal"`
	TextAlignVertical   string  `json:"textAlignVertical"`
	TextAutoResize      string  `json:"textAutoResize"`
	TextCase            string  `json:"textCase"`
	TextDecoration      string  `json:"textDecoration"`
	Fills               []Paint `json:"fills"` // in an override: the run's colour
}

func (n *Node) visible() bool  { return n != nil && (n.Visible == nil || *n.Visible) }
func (p Paint) visible() bool  { return p.Visible == nil || *p.Visible }
func (e Effect) visible() bool { return e.Visible == nil || *e.Visible }

// Problem is a document the converter refuses, with what to do about it.
type Problem struct{ Msg string }

func (p *Problem) Error() string { return p.Msg }

func problem(format string, args ...any) error { return &Problem{Msg: fmt.Sprintf(format, args...)} }

// maxDepth bounds the tree's nesting (the parser and converter recurse).
const maxDepth = 200

// Parse reads a file's JSON (at most limit bytes; 0 means 256 MiB) and
// checks it is a Figma design file with at least one page.
func Parse(r io.Reader, limit int64) (*File, error) {
	if limit <= 0 {
		limit = 256 << 20
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, problem("the Figma file is larger than %d MiB: import fewer pages (export a smaller file)", limit>>20)
	}
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return nil, problem("this is not a Figma file's JSON (expected an object as GET /v1/files/:key returns it)")
	}
	if err := checkDepth(b); err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, problem("this is not a Figma file's JSON: field %s has the wrong type", te.Field)
		}
		return nil, problem("this is not a Figma file's JSON (%v)", err)
	}
	if f.EditorType == "figjam" {
		return nil, problem("this is a FigJam board: only Figma design files can be imported")
	}
	if f.Document == nil || f.Document.Type != "DOCUMENT" {
		return nil, problem("this is not a Figma file's JSON: it has no document node")
	}
	pages := 0
	for _, c := range f.Document.Children {
		if c != nil && c.Type == "CANVAS" {
			pages++
		}
	}
	if pages == 0 {
		return nil, problem("the Figma file has no pages")
	}
	return &f, nil
}

// checkDepth refuses JSON nested deeper than the converter goes.
func checkDepth(b []byte) error {
	depth, inStr, esc := 0, false, false
	for _, c := range b {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if c == '\\' {
				esc = true
			} else if c == '"' {
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			if depth++; depth > 3*maxDepth {
				return problem("the Figma file is nested more than %d levels deep", maxDepth)
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}
