package query

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tracecomb/tracecomb/internal/api"
	"github.com/tracecomb/tracecomb/internal/state"
)

// Board is a Honeycomb flexible board
// (https://docs.honeycomb.io/api/tag/Boards/): query, SLO and text panels
// laid out on a grid, with tags, preset filters and views
// (BoardView).
//
// A board belongs to an environment. Honeycomb's pages on boards in the
// UI speak of boards shared with the team, but its Boards API lists "all
// non-secret Boards within an environment" and requires a panel's query
// and SLO to be "in the same environment as the board"; a board here is
// kept in its key's environment and seen only through keys of that
// environment.
//
// Links.BoardURL is the board's page in tracecomb's UI (Deps.UIURL +
// /boards?board=<id>), set when the board is answered.
type Board struct {
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Description      string         `json:"description"`
	Type             string         `json:"type"`
	Panels           []BoardPanel   `json:"panels"`
	LayoutGeneration string         `json:"layout_generation"`
	Tags             []BoardTag     `json:"tags"`
	PresetFilters    []PresetFilter `json:"preset_filters"`
	Links            BoardLinks     `json:"links"`
}

// BoardLinks are the links of a board.
type BoardLinks struct {
	BoardURL string `json:"board_url"`
}

// BoardPanel is one panel of a board: Type names which of QueryPanel,
// SLOPanel and TextPanel it has.
type BoardPanel struct {
	Type       string           `json:"type"`
	Position   *PanelPosition   `json:"position,omitempty"`
	QueryPanel *BoardQueryPanel `json:"query_panel,omitempty"`
	SLOPanel   *BoardSLOPanel   `json:"slo_panel,omitempty"`
	TextPanel  *BoardTextPanel  `json:"text_panel,omitempty"`
}

// PanelPosition is where a panel sits on the board's grid, which is
// boardColumns wide.
type PanelPosition struct {
	X      int `json:"x_coordinate"`
	Y      int `json:"y_coordinate"`
	Height int `json:"height"`
	Width  int `json:"width"`
}

// BoardQueryPanel shows a saved query under the name its query annotation
// gives it. Dataset is the annotation's dataset ("" for an
// environment-wide one), filled in by the server.
type BoardQueryPanel struct {
	QueryID               string                 `json:"query_id"`
	QueryAnnotationID     string                 `json:"query_annotation_id"`
	QueryStyle            string                 `json:"query_style"`
	Dataset               string                 `json:"dataset"`
	VisualizationSettings *VisualizationSettings `json:"visualization_settings,omitempty"`
}

// VisualizationSettings are a query panel's display settings, kept as
// given.
type VisualizationSettings struct {
	HideCompare    bool            `json:"hide_compare"`
	HideHovers     bool            `json:"hide_hovers"`
	HideMarkers    bool            `json:"hide_markers"`
	UTCXAxis       bool            `json:"utc_xaxis"`
	OverlaidCharts bool            `json:"overlaid_charts"`
	Charts         []ChartSettings `json:"charts,omitempty"`
}

// ChartSettings are the settings of one chart of a query panel.
type ChartSettings struct {
	ChartIndex        int    `json:"chart_index"`
	ChartType         string `json:"chart_type"`
	LogScale          bool   `json:"log_scale"`
	OmitMissingValues bool   `json:"omit_missing_values"`
}

// BoardSLOPanel shows an SLO of the environment.
type BoardSLOPanel struct {
	SLOID string `json:"slo_id"`
}

// BoardTextPanel shows Markdown.
type BoardTextPanel struct {
	Content string `json:"content"`
}

// BoardTag is a key-value pair that identifies a board.
type BoardTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// PresetFilter offers a column, under an alias, as a filter of the whole
// board.
type PresetFilter struct {
	Column string `json:"column"`
	Alias  string `json:"alias"`
}

// BoardView is a named set of filters of a board.
type BoardView struct {
	ID      string            `json:"id"`
	Name    string            `json:"name"`
	Filters []BoardViewFilter `json:"filters"`
}

// BoardViewFilter is one filter of a view; Value is absent for exists and
// does-not-exist, a list for in and not-in, one value otherwise.
type BoardViewFilter struct {
	Column    string `json:"column"`
	Operation string `json:"operation"`
	Value     any    `json:"value,omitempty"`
}

// State kinds of boards and their views, scoped to the environment: a
// board keyed by its id, a view by "<board id>/<view id>".
const (
	kindBoard     state.Kind = "honeycomb.board"
	kindBoardView state.Kind = "honeycomb.board-view"
)

// storedBoard is a board record: the board and when it was created, which
// orders the list.
type storedBoard struct {
	Board
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Honeycomb's bounds of boards and views
// (https://docs.honeycomb.io/api/tag/Boards/).
const (
	maxBoardName        = 255
	maxBoardDescription = 1024
	maxBoardTags        = 10
	maxTagKey           = 32
	maxTagValue         = 128
	maxPresetFilters    = 5
	maxPresetAlias      = 50
	maxTextPanel        = 10000
	maxViewName         = 255
	maxBoardViews       = 50
)

// Honeycomb lays a board out where no panel has a position, or when
// layout_generation is auto, but does not document how. tracecomb fills
// rows of a grid boardColumns wide left to right, each panel in the size
// its position gives or, for a size of 0, the default of its type.
const boardColumns = 12

var defaultPanelSize = map[string]struct{ w, h int }{
	"query": {6, 6},
	"slo":   {3, 4},
	"text":  {3, 3},
}

var (
	tagKeyRE   = regexp.MustCompile(`^[a-z]+$`)
	tagValueRE = regexp.MustCompile(`^[a-z][a-z0-9/-]*$`)
)

var (
	queryStyles = []string{"graph", "table", "combo"}
	chartTypes  = []string{"default", "line", "stacked", "stat", "tsbar", "cbar", "cpie"}
	viewOps     = []string{"=", "!=", ">", ">=", "<", "<=", "starts-with", "does-not-start-with", "ends-with",
		"does-not-end-with", "exists", "does-not-exist", "contains", "does-not-contain", "in", "not-in"}
)

// boardInput is a board as the request gives it; PresetFilters is nil
// when the request has none (a PUT then keeps the board's).
type boardInput struct {
	Name             *string         `json:"name"`
	Description      string          `json:"description"`
	Type             string          `json:"type"`
	Panels           []BoardPanel    `json:"panels"`
	LayoutGeneration string          `json:"layout_generation"`
	Tags             []BoardTag      `json:"tags"`
	PresetFilters    *[]PresetFilter `json:"preset_filters"`
}

// checkBoard validates everything a board carries but what its panels
// refer to (checkPanelRefs), and returns it with defaults applied and its
// layout generated when asked for.
func checkBoard(in boardInput) (Board, error) {
	var b Board
	if err := checkNamed(in.Name, in.Description, maxBoardName, maxBoardDescription); err != nil {
		return b, err
	}
	switch {
	case in.Type == "":
		return b, missingField("type")
	case in.Type != "flexible":
		return b, badField("type", "must be flexible, got %q (classic boards are no longer supported)", in.Type)
	}
	b.Name, b.Description, b.Type = *in.Name, in.Description, in.Type
	switch in.LayoutGeneration {
	case "", "manual":
		b.LayoutGeneration = "manual"
	case "auto":
		b.LayoutGeneration = "auto"
	default:
		return b, badField("layout_generation", "must be auto or manual, got %q", in.LayoutGeneration)
	}
	if len(in.Tags) > maxBoardTags {
		return b, badField("tags", "a board has at most %d tags, got %d", maxBoardTags, len(in.Tags))
	}
	b.Tags = []BoardTag{}
	for i, t := range in.Tags {
		field := fmt.Sprintf("tags[%d]", i)
		switch {
		case t.Key == "":
			return b, missingField(field + ".key")
		case len(t.Key) > maxTagKey || !tagKeyRE.MatchString(t.Key):
			return b, badField(field+".key", "must be lowercase letters only, at most %d, got %q", maxTagKey, t.Key)
		case t.Value == "":
			return b, missingField(field + ".value")
		case len(t.Value) > maxTagValue || !tagValueRE.MatchString(t.Value):
			return b, badField(field+".value", "must begin with a lowercase letter and have only lowercase letters, digits, / and -, at most %d, got %q", maxTagValue, t.Value)
		}
		b.Tags = append(b.Tags, t)
	}
	if in.PresetFilters != nil {
		pf := *in.PresetFilters
		if len(pf) > maxPresetFilters {
			return b, badField("preset_filters", "a board has at most %d preset filters, got %d", maxPresetFilters, len(pf))
		}
		b.PresetFilters = []PresetFilter{}
		for i, f := range pf {
			field := fmt.Sprintf("preset_filters[%d]", i)
			switch {
			case f.Column == "":
				return b, missingField(field + ".column")
			case f.Alias == "":
				return b, missingField(field + ".alias")
			case utf8.RuneCountInString(f.Alias) > maxPresetAlias:
				return b, badField(field+".alias", "must be at most %d characters", maxPresetAlias)
			}
			b.PresetFilters = append(b.PresetFilters, f)
		}
	}
	b.Panels = []BoardPanel{}
	for i, p := range in.Panels {
		p, err := checkPanel(fmt.Sprintf("panels[%d]", i), p)
		if err != nil {
			return b, err
		}
		b.Panels = append(b.Panels, p)
	}
	layOut(&b)
	return b, nil
}

// checkPanel validates one panel on its own and applies its defaults.
func checkPanel(field string, p BoardPanel) (BoardPanel, error) {
	out := BoardPanel{Type: p.Type}
	switch p.Type {
	case "":
		return out, missingField(field + ".type")
	case "query":
		q := p.QueryPanel
		switch {
		case q == nil:
			return out, missingField(field + ".query_panel")
		case q.QueryID == "":
			return out, missingField(field + ".query_panel.query_id")
		case q.QueryAnnotationID == "":
			return out, missingField(field + ".query_panel.query_annotation_id")
		}
		qp := BoardQueryPanel{QueryID: q.QueryID, QueryAnnotationID: q.QueryAnnotationID, QueryStyle: q.QueryStyle, VisualizationSettings: q.VisualizationSettings}
		if qp.QueryStyle == "" {
			qp.QueryStyle = "graph"
		}
		if !slices.Contains(queryStyles, qp.QueryStyle) {
			return out, badField(field+".query_panel.query_style", "must be one of %s, got %q", strings.Join(queryStyles, ", "), qp.QueryStyle)
		}
		if vs := qp.VisualizationSettings; vs != nil {
			for j := range vs.Charts {
				c := &vs.Charts[j]
				if c.ChartType == "" {
					c.ChartType = "default"
				}
				if !slices.Contains(chartTypes, c.ChartType) {
					return out, badField(fmt.Sprintf("%s.query_panel.visualization_settings.charts[%d].chart_type", field, j), "must be one of %s, got %q", strings.Join(chartTypes, ", "), c.ChartType)
				}
				if c.ChartIndex < 0 {
					return out, badField(fmt.Sprintf("%s.query_panel.visualization_settings.charts[%d].chart_index", field, j), "must not be negative, got %d", c.ChartIndex)
				}
			}
		}
		out.QueryPanel = &qp
	case "slo":
		if p.SLOPanel == nil {
			return out, missingField(field + ".slo_panel")
		}
		if p.SLOPanel.SLOID == "" {
			return out, missingField(field + ".slo_panel.slo_id")
		}
		out.SLOPanel = &BoardSLOPanel{SLOID: p.SLOPanel.SLOID}
	case "text":
		switch {
		case p.TextPanel == nil:
			return out, missingField(field + ".text_panel")
		case strings.TrimSpace(p.TextPanel.Content) == "":
			return out, missingField(field + ".text_panel.content")
		case utf8.RuneCountInString(p.TextPanel.Content) > maxTextPanel:
			return out, badField(field+".text_panel.content", "must be at most %d characters", maxTextPanel)
		}
		out.TextPanel = &BoardTextPanel{Content: p.TextPanel.Content}
	default:
		return out, badField(field+".type", "must be query, slo or text, got %q", p.Type)
	}
	if pos := p.Position; pos != nil {
		for _, c := range []struct {
			name string
			v    int
		}{{"x_coordinate", pos.X}, {"y_coordinate", pos.Y}, {"height", pos.Height}, {"width", pos.Width}} {
			if c.v < 0 {
				return out, badField(field+".position."+c.name, "must not be negative, got %d", c.v)
			}
		}
		if pos.Width > boardColumns {
			return out, badField(field+".position.width", "must be at most %d, got %d", boardColumns, pos.Width)
		}
		pp := *pos
		out.Position = &pp
	}
	return out, nil
}

// layOut gives every panel a size (its type's default where 0) and, when
// layout_generation is auto or no panel has a position, places the panels
// in rows.
func layOut(b *Board) {
	auto := b.LayoutGeneration == "auto"
	if !auto {
		auto = true
		for _, p := range b.Panels {
			if p.Position != nil && (p.Position.X != 0 || p.Position.Y != 0) {
				auto = false
				break
			}
		}
	}
	x, y, rowHeight := 0, 0, 0
	for i := range b.Panels {
		p := &b.Panels[i]
		if p.Position == nil {
			p.Position = &PanelPosition{}
		}
		def := defaultPanelSize[p.Type]
		if p.Position.Width == 0 {
			p.Position.Width = def.w
		}
		if p.Position.Height == 0 {
			p.Position.Height = def.h
		}
		if !auto {
			continue
		}
		if x+p.Position.Width > boardColumns {
			x, y, rowHeight = 0, y+rowHeight, 0
		}
		p.Position.X, p.Position.Y = x, y
		x += p.Position.Width
		rowHeight = max(rowHeight, p.Position.Height)
	}
}

// checkPanelRefs, inside a transaction, checks that every query panel's
// query and annotation (which must name that query) and every SLO panel's
// SLO are in the environment, and fills in the query panels' datasets.
func checkPanelRefs(tx state.Tx, e string, b *Board) error {
	// The annotations and SLO keys are read once, when a panel needs them.
	var annotations []state.Record
	var sloKeys []string
	annRead, sloRead := false, false
	for i := range b.Panels {
		p := &b.Panels[i]
		field := fmt.Sprintf("panels[%d]", i)
		switch {
		case p.QueryPanel != nil:
			q := p.QueryPanel
			if _, err := tx.Get(kindQuery, e, q.QueryID); errors.Is(err, state.ErrNotFound) {
				return badField(field+".query_panel.query_id", "no query %s in this environment", q.QueryID)
			} else if err != nil {
				return err
			}
			if !annRead {
				recs, err := tx.List(kindAnnotation, e)
				if err != nil {
					return err
				}
				annotations, annRead = recs, true
			}
			ds, a, ok := findAnnotation(annotations, q.QueryAnnotationID)
			switch {
			case !ok:
				return badField(field+".query_panel.query_annotation_id", "no query annotation %s in this environment", q.QueryAnnotationID)
			case a.QueryID != q.QueryID:
				return badField(field+".query_panel.query_annotation_id", "query annotation %s is of query %s, not %s", q.QueryAnnotationID, a.QueryID, q.QueryID)
			}
			q.Dataset = ds
		case p.SLOPanel != nil:
			if !sloRead {
				keys, err := tx.Keys(kindSLO, e)
				if err != nil {
					return err
				}
				sloKeys, sloRead = keys, true
			}
			if !slices.ContainsFunc(sloKeys, func(k string) bool { return sloKeyIs(k, p.SLOPanel.SLOID) }) {
				return badField(field+".slo_panel.slo_id", "no SLO %s in this environment", p.SLOPanel.SLOID)
			}
		}
	}
	return nil
}

// findAnnotation finds the annotation id among the records of
// kindAnnotation (keyed "<dataset>/<id>"), with its dataset: "" for
// one of the whole environment.
func findAnnotation(recs []state.Record, id string) (string, QueryAnnotation, bool) {
	for _, rec := range recs {
		ds, aid, ok := strings.Cut(rec.Key, "/")
		if !ok || aid != id {
			continue
		}
		var a QueryAnnotation
		if json.Unmarshal(rec.Value, &a) != nil {
			continue
		}
		if ds == "__all__" {
			ds = ""
		}
		return ds, a, true
	}
	return "", QueryAnnotation{}, false
}

// answerBoard is the board as the API answers it, with its link.
func (h *handler) answerBoard(b Board) Board {
	b.Links.BoardURL = strings.TrimRight(h.d.UIURL, "/") + "/boards?board=" + url.QueryEscape(b.ID)
	return b
}

// newBoardID is a random id in Honeycomb's style (base58, up to 11
// characters).
func newBoardID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base58(b)
}

// decodeBoard reads and checks a board; what its panels refer to is
// checked by the transaction that saves it.
func decodeBoard(w http.ResponseWriter, r *http.Request) (Board, bool, bool) {
	var in boardInput
	if !decodeInput(w, r, &in, "board") {
		return Board{}, false, false
	}
	b, err := checkBoard(in)
	if err != nil {
		writeFieldProblem(w, err)
		return Board{}, false, false
	}
	return b, in.PresetFilters != nil, true
}

// boardFailed answers a failed save or read: 422 for a problem, else as
// objectFailed.
func (h *handler) boardFailed(w http.ResponseWriter, noun string, err error) {
	var p *fieldProblem
	if errors.As(err, &p) {
		writeFieldProblem(w, err)
		return
	}
	h.objectFailed(w, noun, err)
}

func (h *handler) createBoard(w http.ResponseWriter, r *http.Request) {
	b, _, ok := decodeBoard(w, r)
	if !ok {
		return
	}
	if b.PresetFilters == nil {
		b.PresetFilters = []PresetFilter{}
	}
	e := env(r)
	now := h.d.Now().UTC()
	b.ID = newBoardID()
	sb := storedBoard{Board: b, CreatedAt: now, UpdatedAt: now}
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := checkPanelRefs(tx, e, &sb.Board); err != nil {
			return err
		}
		v, _ := json.Marshal(sb)
		_, err := tx.Put(state.Record{Kind: kindBoard, Scope: e, Key: sb.ID, Value: v}, state.MustNotExist)
		return err
	})
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, h.answerBoard(sb.Board))
}

func (h *handler) listBoards(w http.ResponseWriter, r *http.Request) {
	recs, err := h.d.State.List(r.Context(), kindBoard, env(r))
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	list := make([]storedBoard, 0, len(recs))
	for _, rec := range recs {
		var sb storedBoard
		if json.Unmarshal(rec.Value, &sb) == nil {
			list = append(list, sb)
		}
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreatedAt.Before(list[j].CreatedAt) })
	out := make([]Board, len(list))
	for i, sb := range list {
		out[i] = h.answerBoard(sb.Board)
	}
	api.WriteJSON(w, http.StatusOK, out)
}

// loadBoard reads the board of the URL's {boardId} in tx.
func loadBoard(tx state.Tx, e, id string) (storedBoard, state.Record, error) {
	var sb storedBoard
	rec, err := tx.Get(kindBoard, e, id)
	if err != nil {
		return sb, rec, err
	}
	if err := json.Unmarshal(rec.Value, &sb); err != nil {
		return sb, rec, fmt.Errorf("stored board %s: %w", id, err)
	}
	return sb, rec, nil
}

func (h *handler) getBoard(w http.ResponseWriter, r *http.Request) {
	rec, err := h.d.State.Get(r.Context(), kindBoard, env(r), r.PathValue("boardId"))
	var sb storedBoard
	if err == nil {
		err = json.Unmarshal(rec.Value, &sb)
	}
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.answerBoard(sb.Board))
}

// updateBoard replaces the board (Honeycomb's PUT takes its full
// details), keeping its id, its views and, when the request has none, its
// preset filters.
func (h *handler) updateBoard(w http.ResponseWriter, r *http.Request) {
	b, hasFilters, ok := decodeBoard(w, r)
	if !ok {
		return
	}
	e, id := env(r), r.PathValue("boardId")
	var sb storedBoard
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		old, rec, err := loadBoard(tx, e, id)
		if err != nil {
			return err
		}
		b.ID = old.ID
		if !hasFilters {
			b.PresetFilters = old.PresetFilters
		}
		sb = storedBoard{Board: b, CreatedAt: old.CreatedAt, UpdatedAt: h.d.Now().UTC()}
		if err := checkPanelRefs(tx, e, &sb.Board); err != nil {
			return err
		}
		v, _ := json.Marshal(sb)
		_, err = tx.Put(state.Record{Kind: kindBoard, Scope: e, Key: id, Value: v}, rec.Version)
		return err
	})
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	api.WriteJSON(w, http.StatusOK, h.answerBoard(sb.Board))
}

// deleteBoard deletes the board and its views.
func (h *handler) deleteBoard(w http.ResponseWriter, r *http.Request) {
	e, id := env(r), r.PathValue("boardId")
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		if err := tx.Delete(kindBoard, e, id, state.AnyVersion); err != nil {
			return err
		}
		keys, err := tx.Keys(kindBoardView, e)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if strings.HasPrefix(k, id+"/") {
				if err := tx.Delete(kindBoardView, e, k, state.AnyVersion); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// viewInput reads and checks a view: a name and at least one filter,
// each with a column and an operation whose value fits it.
func viewInput(w http.ResponseWriter, r *http.Request) (BoardView, bool) {
	var in struct {
		Name    *string           `json:"name"`
		Filters []json.RawMessage `json:"filters"`
	}
	if !decodeInput(w, r, &in, "board view") {
		return BoardView{}, false
	}
	v, err := checkView(in.Name, in.Filters)
	if err != nil {
		writeFieldProblem(w, err)
		return BoardView{}, false
	}
	return v, true
}

func checkView(name *string, filters []json.RawMessage) (BoardView, error) {
	v := BoardView{Filters: []BoardViewFilter{}}
	switch {
	case name == nil || strings.TrimSpace(*name) == "":
		return v, missingField("name")
	case utf8.RuneCountInString(*name) > maxViewName:
		return v, badField("name", "must be at most %d characters", maxViewName)
	case len(filters) == 0:
		return v, missingField("filters")
	}
	v.Name = *name
	for i, raw := range filters {
		field := fmt.Sprintf("filters[%d]", i)
		var f struct {
			Column    string          `json:"column"`
			Operation string          `json:"operation"`
			Value     json.RawMessage `json:"value"`
		}
		if err := json.Unmarshal(raw, &f); err != nil {
			return v, &fieldProblem{field: field, code: "incorrect_type", msg: "must be an object with column, operation and value"}
		}
		switch {
		case f.Column == "":
			return v, missingField(field + ".column")
		case f.Operation == "":
			return v, missingField(field + ".operation")
		case !slices.Contains(viewOps, f.Operation):
			return v, badField(field+".operation", "must be one of %s, got %q", strings.Join(viewOps, ", "), f.Operation)
		}
		var val any
		if !isJSONNull(f.Value) {
			if err := json.Unmarshal(f.Value, &val); err != nil {
				return v, badField(field+".value", "%v", err)
			}
		}
		_, isList := val.([]any)
		_, isObject := val.(map[string]any)
		switch f.Operation {
		case "exists", "does-not-exist":
			if val != nil {
				return v, badField(field+".value", "%s takes no value", f.Operation)
			}
		case "in", "not-in":
			if !isList || len(val.([]any)) == 0 {
				return v, badField(field+".value", "%s takes a list of values", f.Operation)
			}
		default:
			switch {
			case val == nil:
				return v, missingField(field + ".value")
			case isList || isObject:
				return v, badField(field+".value", "%s takes one value: a string, number or boolean", f.Operation)
			}
		}
		v.Filters = append(v.Filters, BoardViewFilter{Column: f.Column, Operation: f.Operation, Value: val})
	}
	return v, nil
}

func viewKey(boardID, viewID string) string { return boardID + "/" + viewID }

// boardViews returns the views of a board in tx, in the order they were
// created, failing with ErrNotFound when there is no such board.
func boardViews(tx state.Tx, e, boardID string) ([]storedView, error) {
	if _, err := tx.Get(kindBoard, e, boardID); err != nil {
		return nil, err
	}
	recs, err := tx.List(kindBoardView, e)
	if err != nil {
		return nil, err
	}
	var out []storedView
	for _, rec := range recs {
		var sv storedView
		if strings.HasPrefix(rec.Key, boardID+"/") && json.Unmarshal(rec.Value, &sv) == nil {
			out = append(out, sv)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// storedView is a view record.
type storedView struct {
	BoardView
	CreatedAt time.Time `json:"created_at"`
}

// errViewName says that another view of the board has the name (409).
var errViewName = errors.New("a view by that name already exists on this board")

func (h *handler) viewFailed(w http.ResponseWriter, err error) {
	if errors.Is(err, errViewName) {
		api.WriteError(w, http.StatusConflict, err.Error())
		return
	}
	h.boardFailed(w, "board view", err)
}

func (h *handler) createBoardView(w http.ResponseWriter, r *http.Request) {
	v, ok := viewInput(w, r)
	if !ok {
		return
	}
	e, boardID := env(r), r.PathValue("boardId")
	sv := storedView{BoardView: v, CreatedAt: h.d.Now().UTC()}
	sv.ID = randomID(5)
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		views, err := boardViews(tx, e, boardID)
		if err != nil {
			return err
		}
		if len(views) >= maxBoardViews {
			return badField("views", "a board has at most %d views", maxBoardViews)
		}
		for _, o := range views {
			if o.Name == v.Name {
				return errViewName
			}
		}
		b, _ := json.Marshal(sv)
		_, err = tx.Put(state.Record{Kind: kindBoardView, Scope: e, Key: viewKey(boardID, sv.ID), Value: b}, state.MustNotExist)
		return err
	})
	if errors.Is(err, state.ErrNotFound) {
		api.WriteError(w, http.StatusNotFound, "Board not found")
		return
	}
	if err != nil {
		h.viewFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusCreated, sv.BoardView)
}

func (h *handler) listBoardViews(w http.ResponseWriter, r *http.Request) {
	var views []storedView
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		var err error
		views, err = boardViews(tx, env(r), r.PathValue("boardId"))
		return err
	})
	if err != nil {
		h.boardFailed(w, "board", err)
		return
	}
	out := make([]BoardView, len(views))
	for i, sv := range views {
		out[i] = sv.BoardView
	}
	api.WriteJSON(w, http.StatusOK, out)
}

func (h *handler) getBoardView(w http.ResponseWriter, r *http.Request) {
	rec, err := h.d.State.Get(r.Context(), kindBoardView, env(r), viewKey(r.PathValue("boardId"), r.PathValue("viewId")))
	var sv storedView
	if err == nil {
		err = json.Unmarshal(rec.Value, &sv)
	}
	if err != nil {
		h.viewFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, sv.BoardView)
}

// updateBoardView replaces the view's name and filters; an id in the body
// is ignored, the URL's names the view.
func (h *handler) updateBoardView(w http.ResponseWriter, r *http.Request) {
	v, ok := viewInput(w, r)
	if !ok {
		return
	}
	e, boardID, viewID := env(r), r.PathValue("boardId"), r.PathValue("viewId")
	var sv storedView
	err := h.d.State.Update(r.Context(), func(tx state.Tx) error {
		views, err := boardViews(tx, e, boardID)
		if err != nil {
			return err
		}
		rec, err := tx.Get(kindBoardView, e, viewKey(boardID, viewID))
		if err != nil {
			return err
		}
		if err := json.Unmarshal(rec.Value, &sv); err != nil {
			return err
		}
		for _, o := range views {
			if o.Name == v.Name && o.ID != viewID {
				return errViewName
			}
		}
		sv.Name, sv.Filters = v.Name, v.Filters
		b, _ := json.Marshal(sv)
		_, err = tx.Put(state.Record{Kind: kindBoardView, Scope: e, Key: rec.Key, Value: b}, rec.Version)
		return err
	})
	if err != nil {
		h.viewFailed(w, err)
		return
	}
	api.WriteJSON(w, http.StatusOK, sv.BoardView)
}

func (h *handler) deleteBoardView(w http.ResponseWriter, r *http.Request) {
	err := h.d.State.Delete(r.Context(), kindBoardView, env(r), viewKey(r.PathValue("boardId"), r.PathValue("viewId")), state.AnyVersion)
	if err != nil {
		h.viewFailed(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
