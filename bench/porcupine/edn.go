package main

import (
	"fmt"
	"strconv"
	"strings"
)

// ednValue is what a flat EDN map holds in the logs we read: a keyword (kept with its colon), a
// string, an integer, or nil.
type ednValue struct {
	kind string // "keyword", "string", "int", "nil"
	text string
	num  int
}

// parseFlatEDNMap reads one line like `{:process 0, :type :ok, :key "1", :value nil}`. Nested
// collections are not needed for these logs and are rejected.
func parseFlatEDNMap(line string) (map[string]ednValue, error) {
	s := strings.TrimSpace(line)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		return nil, fmt.Errorf("not an EDN map: %q", line)
	}
	p := &ednScanner{s: s[1 : len(s)-1]}
	out := map[string]ednValue{}
	for {
		p.skipSpace()
		if p.done() {
			return out, nil
		}
		key, err := p.value()
		if err != nil {
			return nil, err
		}
		if key.kind != "keyword" {
			return nil, fmt.Errorf("map key %q is not a keyword", key.text)
		}
		p.skipSpace()
		val, err := p.value()
		if err != nil {
			return nil, err
		}
		out[key.text] = val
	}
}

type ednScanner struct {
	s   string
	pos int
}

func (p *ednScanner) done() bool { return p.pos >= len(p.s) }

// skipSpace skips whitespace and commas, which EDN treats as whitespace.
func (p *ednScanner) skipSpace() {
	for !p.done() && strings.IndexByte(" \t\r\n,", p.s[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *ednScanner) value() (ednValue, error) {
	if p.done() {
		return ednValue{}, fmt.Errorf("unexpected end of map")
	}
	if p.s[p.pos] == '"' {
		return p.str()
	}
	start := p.pos
	for !p.done() && strings.IndexByte(" \t\r\n,{}[]()\"", p.s[p.pos]) < 0 {
		p.pos++
	}
	tok := p.s[start:p.pos]
	switch {
	case tok == "":
		return ednValue{}, fmt.Errorf("unsupported EDN at %q", p.s[start:])
	case tok == "nil":
		return ednValue{kind: "nil"}, nil
	case tok[0] == ':':
		return ednValue{kind: "keyword", text: tok}, nil
	}
	n, err := strconv.Atoi(tok)
	if err != nil {
		return ednValue{}, fmt.Errorf("unsupported EDN token %q", tok)
	}
	return ednValue{kind: "int", text: tok, num: n}, nil
}

func (p *ednScanner) str() (ednValue, error) {
	var b strings.Builder
	p.pos++ // opening quote
	for !p.done() {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '"':
			return ednValue{kind: "string", text: b.String()}, nil
		case '\\':
			if p.done() {
				return ednValue{}, fmt.Errorf("unterminated string")
			}
			esc := p.s[p.pos]
			p.pos++
			switch esc {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte(esc)
			}
		default:
			b.WriteByte(c)
		}
	}
	return ednValue{}, fmt.Errorf("unterminated string")
}
