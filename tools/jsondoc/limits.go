package jsondoc

import (
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// CheckComplexity applies the MaxKeys and MaxNodes limits of lim to a document that is already
// decoded (the data of a larger message, say), counting as DecodeObject does. It returns an
// *Error with Limit set (and no Offset, as there is no input text), or nil.
func CheckComplexity(doc bson.D, lim Limits) error {
	c := complexity{lim: lim.withDefaults()}
	return c.within(doc)
}

// complexity counts the values of one document against its limits.
type complexity struct {
	lim   Limits
	nodes int
}

// within checks the members of an object or the elements of an array (other values hold none).
func (c *complexity) within(v any) error {
	switch t := v.(type) {
	case bson.D:
		if len(t) > c.lim.MaxKeys {
			return limitError(LimitKeys, c.lim.MaxKeys)
		}
		for _, e := range t {
			if err := c.value(e.Value); err != nil {
				return err
			}
		}
	case bson.A:
		for _, x := range t {
			if err := c.value(x); err != nil {
				return err
			}
		}
	}
	return nil
}

// value counts one value and checks what it holds.
func (c *complexity) value(v any) error {
	c.nodes++
	if c.nodes > c.lim.MaxNodes {
		return limitError(LimitNodes, c.lim.MaxNodes)
	}
	return c.within(v)
}

func limitError(limit string, max int) *Error {
	return &Error{Msg: limitMessage(limit, max), Limit: limit, Max: max}
}

// limitMessage says which complexity limit a document exceeds.
func limitMessage(limit string, max int) string {
	if limit == LimitKeys {
		return fmt.Sprintf("an object has more than %d keys", max)
	}
	return fmt.Sprintf("the document holds more than %d values", max)
}
