/* decimal.h -- a double as the plain decimal text PostgreSQL's numeric reads exactly (the
 * lessons' fidelity_score). */
#ifndef CO_DECIMAL_H
#define CO_DECIMAL_H

/*
 * The shortest text that reads back as v, in plain decimal (no exponent): "0.125", "1", "0",
 * "0.0000125", for v in [0, 1] (the only range asked for: larger numbers would keep their
 * exponent's digits wrong). PostgreSQL casts it to numeric exactly. A heap string (free()).
 */
char *decimal_text(double v);

#endif
