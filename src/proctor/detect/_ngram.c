/* Native scorer for the prompt-injection classifier (see injection_model.py, which holds the pure-Python
 * reference this must equal exactly, and falls back to it when this module is not built).
 *
 * Why C: the scorer looks up every token and every bigram of every checked text in a 6,700-feature table.
 * In Python that is ~200 string objects, ~200 tuples and ~400 dict probes per KB (~45 us, the largest single
 * cost of a check); here it is one pass over the text's code points with an open-addressing table (4 to 7 us).
 *
 * Semantics (identical to InjectionModel.score_tokens on tokenize(text)):
 *   - the caller passes the text lower-cased; a token is a maximal run of code points that are neither
 *     whitespace (str.isspace) nor in the model's PUNCTUATION string;
 *   - features are the tokens and the bigrams (token i, token i+1); bigram i belongs to the chunk of token i;
 *   - tokens are cut into chunks of `stride`; inside a chunk each feature counts once;
 *   - a window is two neighbouring chunks (or the only one); the best window is the first with the highest
 *     sum. Weights are integers (the model's weights x 100,000), so sums are exact.
 *
 * Each feature is found by a 64-bit hash of its code points and then confirmed by comparing them, so a hash
 * collision can never add a weight. The table is only read and written with the GIL held.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* A feature. 24 bytes, so that the entries of all 6,700 features take 160 KB: a check's lookups land all
 * over the table, and on a shared machine each check finds part of it evicted by the other detectors. */
typedef struct {
    uint64_t hash;
    int32_t weight;
    uint32_t stamp;   /* the chunk that last counted this feature */
    uint32_t key;     /* offset of the key's code points in keys */
    uint16_t len_a;   /* code points of the (first) token */
    uint16_t len_b;   /* code points of the second token; 0 for a unigram */
} Entry;

#define FILTER_BITS (1u << 17)  /* 16 KB */
#define FILTER_BIT(h) (((h) >> 40) & (FILTER_BITS - 1))

typedef struct {
    PyObject_HEAD
    /* One bit per feature hash, tested before the table: most tokens and bigrams are no feature, and a
     * 16 KB filter stays in cache where the table (64 KB of slots, then the entries) does not. */
    uint64_t filter[FILTER_BITS / 64];
    Entry *entries;
    Py_ssize_t n_entries;
    uint32_t *slots;  /* entry index + 1; 0 is empty */
    uint64_t mask;
    Py_UCS4 *keys;
    uint32_t stamp;
    uint8_t latin1_sep[256];  /* whitespace or punctuation, for code points below 256 */
    Py_UCS4 *punct;   /* non-ASCII punctuation, sorted */
    Py_ssize_t n_punct;
} Table;

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

static inline uint64_t unigram_hash(uint64_t h) { return fmix64(h); }

static inline uint64_t bigram_hash(uint64_t ha, uint64_t hb) {
    return fmix64((ha * 0x9e3779b97f4a7c15ULL) ^ hb ^ 0x5bd1e9955bd1e995ULL);
}

static int is_separator(const Table *t, Py_UCS4 c) {
    if (Py_UNICODE_ISSPACE(c))
        return 1;
    Py_ssize_t lo = 0, hi = t->n_punct;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (t->punct[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_punct && t->punct[lo] == c;
}

static int cmp_ucs4(const void *a, const void *b) {
    Py_UCS4 x = *(const Py_UCS4 *)a, y = *(const Py_UCS4 *)b;
    return (x > y) - (x < y);
}

/* The FNV-1a hash of a run of code points. */
static uint64_t hash_run(int kind, const void *data, Py_ssize_t start, Py_ssize_t end) {
    uint64_t h = FNV_OFFSET;
    for (Py_ssize_t i = start; i < end; i++) {
        h ^= (uint64_t)PyUnicode_READ(kind, data, i);
        h *= FNV_PRIME;
    }
    return h;
}

static int same_run(const Py_UCS4 *key, int kind, const void *data, Py_ssize_t start, uint32_t len) {
    for (uint32_t i = 0; i < len; i++) {
        if (key[i] != PyUnicode_READ(kind, data, start + (Py_ssize_t)i))
            return 0;
    }
    return 1;
}

/* The entry for a unigram (b_start < 0) or a bigram, or NULL. */
static Entry *lookup(const Table *t, uint64_t hash, int kind, const void *data, Py_ssize_t a_start,
                     Py_ssize_t a_len, Py_ssize_t b_start, Py_ssize_t b_len) {
    uint64_t bit = FILTER_BIT(hash);
    if (!((t->filter[bit / 64] >> (bit % 64)) & 1))
        return NULL;
    uint64_t i = hash & t->mask;
    for (;;) {
        uint32_t slot = t->slots[i];
        if (slot == 0)
            return NULL;
        Entry *e = &t->entries[slot - 1];
        if (e->hash == hash && (Py_ssize_t)e->len_a == a_len && (Py_ssize_t)e->len_b == (b_start < 0 ? 0 : b_len)) {
            const Py_UCS4 *key = t->keys + e->key;
            if (same_run(key, kind, data, a_start, (uint32_t)a_len)
                && (b_start < 0 || same_run(key + a_len, kind, data, b_start, (uint32_t)b_len)))
                return e;
        }
        i = (i + 1) & t->mask;
    }
}

static void Table_dealloc(Table *self) {
    PyMem_Free(self->entries);
    PyMem_Free(self->slots);
    PyMem_Free(self->keys);
    PyMem_Free(self->punct);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Copies a token's code points into keys; returns its hash (FNV-1a, as hash_run computes it). */
static int add_token(PyObject *token, Py_UCS4 **keys, Py_ssize_t *used, Py_ssize_t *cap, uint16_t *len,
                     uint64_t *hash) {
    if (!PyUnicode_Check(token)) {
        PyErr_SetString(PyExc_TypeError, "feature keys must be str or a tuple of two str");
        return -1;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(token);
    if (n == 0 || n > (Py_ssize_t)UINT16_MAX) {
        PyErr_SetString(PyExc_ValueError, "feature tokens must be non-empty and shorter than 65,536 characters");
        return -1;
    }
    if (*used + n > *cap) {
        Py_ssize_t grown = (*cap + n) * 2;
        Py_UCS4 *more = PyMem_Realloc(*keys, (size_t)grown * sizeof(Py_UCS4));
        if (more == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        *keys = more;
        *cap = grown;
    }
    int kind = PyUnicode_KIND(token);
    const void *data = PyUnicode_DATA(token);
    for (Py_ssize_t i = 0; i < n; i++)
        (*keys)[*used + i] = PyUnicode_READ(kind, data, i);
    *used += n;
    *len = (uint16_t)n;
    *hash = hash_run(kind, data, 0, n);
    return 0;
}

static int Table_init(Table *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"weights", "punctuation", NULL};
    PyObject *weights, *punctuation;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!U", kwlist, &PyDict_Type, &weights, &punctuation))
        return -1;
    if (self->entries != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Table is already initialised");
        return -1;
    }
    Py_ssize_t n = PyDict_Size(weights);
    if (n >= (Py_ssize_t)UINT32_MAX / 4) {
        PyErr_SetString(PyExc_ValueError, "too many features");
        return -1;
    }
    uint64_t size = 16;
    while (size < (uint64_t)n * 2 + 1)
        size <<= 1;
    self->mask = size - 1;
    self->entries = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Entry));
    self->slots = PyMem_Calloc((size_t)size, sizeof(uint32_t));
    Py_ssize_t cap = n * 8 + 16, used = 0;
    self->keys = PyMem_Malloc((size_t)cap * sizeof(Py_UCS4));
    if (self->entries == NULL || self->slots == NULL || self->keys == NULL) {
        PyErr_NoMemory();
        return -1;
    }

    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(weights, &pos, &key, &value)) {
        Entry *e = &self->entries[self->n_entries];
        int overflow = 0;
        long long w = PyLong_Check(value) ? PyLong_AsLongLongAndOverflow(value, &overflow) : -1;
        if (w == -1 && PyErr_Occurred())
            return -1;
        if (!PyLong_Check(value) || overflow || w < INT32_MIN || w > INT32_MAX) {
            PyErr_SetString(PyExc_TypeError, "feature weights must be integers that fit 32 bits");
            return -1;
        }
        if (used > (Py_ssize_t)UINT32_MAX - 2 * (Py_ssize_t)UINT16_MAX) {
            PyErr_SetString(PyExc_ValueError, "feature keys too long in total");
            return -1;
        }
        e->weight = (int32_t)w;
        e->key = (uint32_t)used;
        uint64_t ha, hb;
        if (PyTuple_Check(key) && PyTuple_GET_SIZE(key) == 2) {
            if (add_token(PyTuple_GET_ITEM(key, 0), &self->keys, &used, &cap, &e->len_a, &ha) < 0
                || add_token(PyTuple_GET_ITEM(key, 1), &self->keys, &used, &cap, &e->len_b, &hb) < 0)
                return -1;
            e->hash = bigram_hash(ha, hb);
        } else {
            if (add_token(key, &self->keys, &used, &cap, &e->len_a, &ha) < 0)
                return -1;
            e->len_b = 0;
            e->hash = unigram_hash(ha);
        }
        uint64_t bit = FILTER_BIT(e->hash);
        self->filter[bit / 64] |= 1ULL << (bit % 64);
        uint64_t i = e->hash & self->mask;
        while (self->slots[i] != 0)
            i = (i + 1) & self->mask;
        self->n_entries++;
        self->slots[i] = (uint32_t)self->n_entries;
    }

    int kind = PyUnicode_KIND(punctuation);
    const void *data = PyUnicode_DATA(punctuation);
    Py_ssize_t np = PyUnicode_GET_LENGTH(punctuation);
    self->punct = PyMem_Malloc((size_t)(np ? np : 1) * sizeof(Py_UCS4));
    if (self->punct == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < np; i++)
        self->punct[self->n_punct++] = PyUnicode_READ(kind, data, i);
    qsort(self->punct, (size_t)self->n_punct, sizeof(Py_UCS4), cmp_ucs4);
    for (Py_UCS4 c = 0; c < 256; c++)
        self->latin1_sep[c] = (uint8_t)is_separator(self, c);
    return 0;
}

/* A stamp no entry holds yet; after 2^32 chunks every entry is reset once and counting starts over. */
static uint32_t next_stamp(Table *t) {
    if (++t->stamp == 0) {
        for (Py_ssize_t i = 0; i < t->n_entries; i++)
            t->entries[i].stamp = 0;
        t->stamp = 1;
    }
    return t->stamp;
}

/* Adds a feature's weight to the chunk sum unless this chunk counted it already. */
static inline void count(Entry *e, uint32_t stamp, int64_t *sum) {
    if (e != NULL && e->stamp != stamp) {
        e->stamp = stamp;
        *sum += e->weight;
    }
}

/* One pass over the text: see the header comment. CHAR is the string's storage unit, so the inner loops read
 * code points directly instead of switching on the string's kind for each one. */
#define SCORE_PASS(CHAR)                                                                                      \
    do {                                                                                                      \
        const CHAR *s = (const CHAR *)data;                                                                   \
        while (i < len) {                                                                                     \
            while (i < len && IS_SEP(self, s[i]))                                                             \
                i++;                                                                                          \
            if (i >= len)                                                                                     \
                break;                                                                                        \
            Py_ssize_t start = i;                                                                             \
            uint64_t h = FNV_OFFSET;                                                                          \
            while (i < len && !IS_SEP(self, s[i])) {                                                          \
                h ^= (uint64_t)s[i];                                                                          \
                h *= FNV_PRIME;                                                                               \
                i++;                                                                                          \
            }                                                                                                 \
            Py_ssize_t tlen = i - start;                                                                      \
            /* The bigram (previous token, this one) belongs to the previous token's chunk. */                \
            if (prev_start >= 0)                                                                              \
                count(lookup(self, bigram_hash(prev_hash, h), kind, data, prev_start, prev_len, start, tlen), \
                      stamp, &sum);                                                                           \
            if (--left_in_chunk < 0) { /* this token starts a chunk (no division per token) */            \
                if (push(&chunks, &n_chunks, &cap, sum) < 0)                                                  \
                    return PyErr_NoMemory();                                                                  \
                sum = 0;                                                                                      \
                stamp = next_stamp(self);                                                                     \
                left_in_chunk = stride - 1;                                                                   \
            }                                                                                                 \
            count(lookup(self, unigram_hash(h), kind, data, start, tlen, -1, 0), stamp, &sum);                \
            prev_start = start;                                                                               \
            prev_len = tlen;                                                                                  \
            prev_hash = h;                                                                                    \
            n_tokens++;                                                                                       \
        }                                                                                                     \
    } while (0)

#define IS_SEP(t, c) ((c) < 256 ? (t)->latin1_sep[(c)] : is_separator((t), (c)))

/* Appends a chunk sum; frees the array and returns -1 when out of memory. */
static int push(int64_t **chunks, Py_ssize_t *n, Py_ssize_t *cap, int64_t sum) {
    if (*n == *cap) {
        Py_ssize_t grown = *cap * 2;
        int64_t *more = PyMem_Realloc(*chunks, (size_t)grown * sizeof(int64_t));
        if (more == NULL) {
            PyMem_Free(*chunks);
            *chunks = NULL;
            return -1;
        }
        *chunks = more;
        *cap = grown;
    }
    (*chunks)[(*n)++] = sum;
    return 0;
}

static PyObject *Table_score(Table *self, PyObject *args) {
    PyObject *text;
    Py_ssize_t stride;
    if (!PyArg_ParseTuple(args, "Un", &text, &stride))
        return NULL;
    if (stride < 1) {
        PyErr_SetString(PyExc_ValueError, "stride must be at least 1");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);

    Py_ssize_t cap = 64, n_chunks = 0;
    int64_t *chunks = PyMem_Malloc((size_t)cap * sizeof(int64_t));
    if (chunks == NULL)
        return PyErr_NoMemory();

    Py_ssize_t n_tokens = 0, prev_start = -1, prev_len = 0, i = 0;
    Py_ssize_t left_in_chunk = stride; /* tokens the current chunk still takes */
    uint64_t prev_hash = 0;
    int64_t sum = 0;
    uint32_t stamp = next_stamp(self);
    if (kind == PyUnicode_1BYTE_KIND)
        SCORE_PASS(Py_UCS1);
    else if (kind == PyUnicode_2BYTE_KIND)
        SCORE_PASS(Py_UCS2);
    else
        SCORE_PASS(Py_UCS4);
    if (n_tokens > 0 && push(&chunks, &n_chunks, &cap, sum) < 0)
        return PyErr_NoMemory();

    int64_t best = 0;
    Py_ssize_t at = 0;
    if (n_chunks == 1) {
        best = chunks[0];
    } else if (n_chunks > 1) {
        best = chunks[0] + chunks[1];
        for (Py_ssize_t c = 1; c + 1 < n_chunks; c++) {
            int64_t pair = chunks[c] + chunks[c + 1];
            if (pair > best) {
                best = pair;
                at = c;
            }
        }
    }
    PyMem_Free(chunks);
    return Py_BuildValue("Lnn", (long long)best, at, n_tokens);
}

static PyObject *Table_len(Table *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromSsize_t(self->n_entries);
}

static PyMethodDef Table_methods[] = {
    {"score", (PyCFunction)Table_score, METH_VARARGS,
     "score(lowered_text, stride) -> (best_sum, first_chunk, n_tokens)\n\n"
     "The best window's integer weight sum, the index of its first chunk and the number of tokens."},
    {"size", (PyCFunction)Table_len, METH_NOARGS, "size() -> number of features in the table"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "proctor.detect._ngram.Table",
    .tp_doc = "Table(weights, punctuation): integer feature weights keyed by token or (token, token).",
    .tp_basicsize = sizeof(Table),
    .tp_itemsize = 0,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

static struct PyModuleDef ngram_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "proctor.detect._ngram",
    .m_doc = "Native n-gram scorer for the injection classifier (optional; injection_model.py has the reference).",
    .m_size = -1,
};

PyMODINIT_FUNC PyInit__ngram(void) {
    if (PyType_Ready(&TableType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&ngram_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
