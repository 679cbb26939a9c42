package aitrace

// keyTable is an open-addressing hash table from attribute key to keyInfo.
// The span pass looks up every key of every GenAI span, and hashing only
// the length and the first and last eight bytes is several times cheaper
// than Go's map hashing the whole key; equality still compares the key.
type keyTable struct {
	mask  uint64
	slots []keySlot
}

type keySlot struct {
	hash uint64
	key  string
	info *keyInfo
}

func newKeyTable(m map[string]*keyInfo) keyTable {
	size := uint64(16)
	for size < uint64(len(m))*4 {
		size <<= 1
	}
	t := keyTable{mask: size - 1, slots: make([]keySlot, size)}
	for k, ki := range m {
		h := keyHash(k)
		for i := h & t.mask; ; i = (i + 1) & t.mask {
			if t.slots[i].info == nil {
				t.slots[i] = keySlot{hash: h, key: k, info: ki}
				break
			}
		}
	}
	return t
}

func (t *keyTable) get(k string) (*keyInfo, bool) {
	h := keyHash(k)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.info == nil {
			return nil, false
		}
		if s.hash == h && s.key == k {
			return s.info, true
		}
	}
}

func keyHash(k string) uint64 {
	n := len(k)
	var a, b uint64
	if n >= 8 {
		a = le64(k[:8])
		b = le64(k[n-8:])
	} else {
		for i := 0; i < n; i++ {
			a = a<<8 | uint64(k[i])
		}
	}
	h := a*0x9E3779B97F4A7C15 ^ b*0xC2B2AE3D27D4EB4F ^ uint64(n)*0x165667B19E3779F9
	return h ^ h>>31
}

func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
