package jsondoc

import "testing"

// benchDocument is a realistic order of about 1 KiB: nested objects, arrays, integers,
// floats, strings with escapes and non-ASCII text, booleans and null.
const benchDocument = `{
  "orderNumber": "A-2024-000173",
  "status": "shipped",
  "placedAt": "2024-02-29T13:04:05.678Z",
  "customer": {
    "name": "Zoë Müller",
    "email": "zoe.mueller@example.com",
    "address": {"street": "Hauptstraße 12", "city": "Berlin", "postcode": "10115", "country": "DE"},
    "loyalty": {"tier": "gold", "points": 18250, "since": 2019}
  },
  "items": [
    {"sku": "TSHIRT-RED-M", "title": "T-shirt \"Classic\" red, M", "quantity": 2, "unitPrice": 19.99, "tags": ["cotton", "summer"]},
    {"sku": "MUG-BLUE", "title": "Mug, blue (350 ml)", "quantity": 1, "unitPrice": 8.5, "tags": []},
    {"sku": "BOOK-GO-2E", "title": "The Go Programming Language", "quantity": 1, "unitPrice": 34.0, "tags": ["books", "programming"]}
  ],
  "totals": {"subtotal": 82.48, "shipping": 4.9, "tax": 15.67, "total": 103.05, "currency": "EUR"},
  "payment": {"method": "card", "last4": "4242", "captured": true, "refund": null},
  "notes": "Leave at the door.\nRing twice, please.",
  "history": [
    {"at": 1709211845678, "event": "placed"},
    {"at": 1709215445000, "event": "paid"},
    {"at": 1709298245000, "event": "shipped", "carrier": "DHL", "tracking": "00340434161094042557"}
  ],
  "giftWrap": false,
  "rating": -1
}`

func BenchmarkDecodeObject(b *testing.B) {
	data := []byte(benchDocument)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeObject(data, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshal(b *testing.B) {
	doc, err := DecodeObject([]byte(benchDocument), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	out, err := Marshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if _, err := Marshal(doc); err != nil {
			b.Fatal(err)
		}
	}
}
