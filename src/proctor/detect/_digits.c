/* Native finder for the PII detector's numeric candidates: the spans of pii._NUM.finditer(text), exactly.
 *
 * Why C: sre looks for the pattern's first character ([0-9]) by calling its charset test on every character
 * of the text, and then tries both alternatives at every digit: ~9 us per KB of a prompt with a few
 * numbers, the largest part of the PII detector's time. This pass reads each character once or twice.
 *
 * The pattern (pii.py) is [0-9](?:A|B), tried at each digit from left to right, a match resuming the search
 * at its end:
 *   A  [0-9]{0,2}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?!\.?[0-9])   a dotted quad
 *   B  (?:S{0,2}[0-9]){6}(?:S{0,2}[0-9]){0,150}                       seven or more digits, S a separator
 * Backtracking never finds another match than the greedy reading: a digit group of A that stops before
 * another digit can only be followed by a digit, never by the "." A needs; and a step of B (at most two
 * separators, then a digit) either succeeds or fails whatever the separators' count. So A is: the first
 * digit run has 1 to 3 digits, then three ".run" with runs of 1 to 3 digits, and no ".digit" after; B is:
 * at least 6 steps, then as many more as succeed, up to 150. tests/detect/test_digits_native.py checks this against the regex
 * on generated texts.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
/* pii._SEP: space, NBSP, en dash, ".", "/", "(", ")", "-" */
static inline int is_sep(Py_UCS4 c) {
    return c == ' ' || c == '.' || c == '/' || c == '(' || c == ')' || c == '-' || c == 0xa0 || c == 0x2013;
}
#define IS_SEP(c) is_sep((Py_UCS4)(c))

/* Appends (start, end) to the list; -1 on error. */
static int add_span(PyObject *out, Py_ssize_t start, Py_ssize_t end) {
    PyObject *span = Py_BuildValue("(nn)", start, end);
    if (span == NULL)
        return -1;
    int rc = PyList_Append(out, span);
    Py_DECREF(span);
    return rc;
}

#define FIND_SPANS(CHAR)                                                                                      \
    do {                                                                                                      \
        const CHAR *s = (const CHAR *)data;                                                                   \
        Py_ssize_t p = 0;                                                                                     \
        while (p < n) {                                                                                       \
            if (!IS_DIGIT(s[p])) {                                                                            \
                p++;                                                                                          \
                continue;                                                                                     \
            }                                                                                                 \
            Py_ssize_t end = -1;                                                                              \
            /* A: the first run (the digit at p and up to 2 more), then three "." runs of 1 to 3 digits. */   \
            Py_ssize_t q = p + 1;                                                                             \
            while (q < n && IS_DIGIT(s[q]) && q - p < 4)                                                      \
                q++;                                                                                          \
            if (q - p <= 3 && !(q < n && IS_DIGIT(s[q]))) {                                                   \
                int groups = 0;                                                                               \
                while (groups < 3 && q + 1 < n && s[q] == '.' && IS_DIGIT(s[q + 1])) {                        \
                    Py_ssize_t r = q + 1;                                                                     \
                    while (r < n && IS_DIGIT(s[r]) && r - q <= 3)                                             \
                        r++;                                                                                  \
                    if (r - q - 1 > 3 || (r < n && IS_DIGIT(s[r])))                                           \
                        break; /* a run of 4 or more digits */                                                \
                    q = r;                                                                                    \
                    groups++;                                                                                 \
                }                                                                                             \
                if (groups == 3 && !(q < n && IS_DIGIT(s[q]))                                                 \
                    && !(q + 1 < n && s[q] == '.' && IS_DIGIT(s[q + 1])))                                     \
                    end = q;                                                                                  \
            }                                                                                                 \
            if (end < 0) {                                                                                    \
                /* B: steps of at most two separators and a digit; 6 needed, 156 at most. */                  \
                Py_ssize_t at = p + 1;                                                                        \
                int steps = 0;                                                                                \
                while (steps < 156) {                                                                         \
                    Py_ssize_t t = at;                                                                        \
                    if (t < n && IS_SEP(s[t])) {                                                              \
                        t++;                                                                                  \
                        if (t < n && IS_SEP(s[t]))                                                            \
                            t++;                                                                              \
                    }                                                                                         \
                    if (!(t < n && IS_DIGIT(s[t])))                                                           \
                        break;                                                                                \
                    at = t + 1;                                                                               \
                    steps++;                                                                                  \
                }                                                                                             \
                if (steps >= 6)                                                                               \
                    end = at;                                                                                 \
            }                                                                                                 \
            if (end < 0) {                                                                                    \
                p++;                                                                                          \
                continue;                                                                                     \
            }                                                                                                 \
            if (add_span(out, p, end) < 0) {                                                                  \
                Py_DECREF(out);                                                                               \
                return NULL;                                                                                  \
            }                                                                                                 \
            p = end;                                                                                          \
        }                                                                                                     \
    } while (0)

static PyObject *num_spans(PyObject *Py_UNUSED(module), PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "num_spans() expects a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    if (kind == PyUnicode_1BYTE_KIND)
        FIND_SPANS(Py_UCS1);
    else if (kind == PyUnicode_2BYTE_KIND)
        FIND_SPANS(Py_UCS2);
    else
        FIND_SPANS(Py_UCS4);
    return out;
}

static PyMethodDef methods[] = {
    {"num_spans", num_spans, METH_O,
     "num_spans(text) -> [(start, end), ...]: the spans of pii._NUM.finditer(text), found in one pass."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef digits_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "proctor.detect._digits",
    .m_doc = "Native finder for the PII detector's numeric candidates (optional; pii.py has the regex).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__digits(void) { return PyModule_Create(&digits_module); }
