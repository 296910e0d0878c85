#!/usr/bin/python3
"""gen_corpus.py -- a synthetic tree of course files, deterministic and fast, for tests and benchmarks.

    bench/gen_corpus.py OUTDIR [--courses C] [--modules M] [--lessons L]
                               [--body-bytes B] [--seed S] [--layout flat|modules]

Writes, for each course i in 1..C (C x M x L lessons in all, plus C briefs):

    OUTDIR/<slug>-<iiii>/COURSE-BRIEF.md
    OUTDIR/<slug>-<iiii>/lessons/<m>.<l>-<lesson-slug>.md                (--layout flat)
    OUTDIR/<slug>-<iiii>/lessons/modulo-<mm>/aula-<m>.<l>-<lesson-slug>.md  (--layout modules)

in the shapes of docs/CONTRACT.md: UTF-8 markdown, a YAML front-matter block between `---`
lines, then a body of about B bytes (lessons) or B/2 bytes (briefs) with accents,
headings, lists, a quote, a fenced code block and links.

Brief front-matter: course_slug, title, subtitle, creator_mind, status, version,
created_at, instructor {name, email, bio}, mmos_persona {mind_slug, mind_name,
fidelity_target}, tags [...], target_audience {name, level, technical_level,
prerequisites [...]}, pricing {currency, amount}, modules_count, lessons_count.
Lesson front-matter: lesson_id ("M.L", quoted: a plain 1.10 would be the float 1.1),
title (quoted; some hold a colon), module (int), module_name, duration_minutes,
learning_objectives [...], tags [...], fidelity_score (0..1, three decimals), status
(draft, reviewed, published or archived).

Deterministic: the same arguments give byte-identical trees on any machine (no hash
seed, locale or clock enters the output), and course i depends only on the seed and i,
so a corpus of 200 courses starts with the 100 courses of a corpus of 100. Fast: text is
drawn from a pool of sentences made once from the seed, so 100,000 lessons take a few
seconds (the last line printed says how long: `files=N bytes=N seconds=S`).
Defaults: 100 x 10 x 10 = 10,000 lessons of about 4 KB.
"""
import argparse
import json
import os
import random
import sys
import time
import unicodedata

WORDS = (
    "aula prática método análise conteúdo estratégia público aprendizado exercício revisão "
    "módulo lição exemplo técnica você também então porém já até mais menos muito cada todo "
    "entre sobre para com sem por da do em na no que um uma é área ação decisão função "
    "informação solução questão razão opção gestão relação situação atenção comunicação "
    "organização avaliação construção criação definição sessão equipe mercado marca valor "
    "dados tempo forma parte caso ponto nível etapa fase passo modelo sistema projeto plano "
    "meta prazo custo preço risco crescimento qualidade eficiência confiança autoridade "
    "influência audiência conversão retenção jornada funil proposta diferença vantagem "
    "benefício oportunidade desafio hipótese pergunta resposta conclusão introdução síntese "
    "básico avançado intermediário crítico estratégico operacional lógico único ótimo "
    "mínimo máximo médio específico genérico ferramenta processo objetivo importante simples "
    "rápido fácil difícil possível necessário começar através próximo último código cliente"
).split()
TOPICS = (
    "Marketing de Conteúdo", "Gestão Ágil", "Python para Dados", "Liderança", "Finanças",
    "Comunicação", "Design de Serviços", "Copywriting", "Análise de Dados", "Vendas B2B",
    "Produtividade", "Empreendedorismo", "IA Aplicada", "Negociação", "Oratória",
    "Atendimento ao Cliente", "Storytelling", "Tráfego Pago", "Didática", "Automação",
)
PREFIXES = ("Fundamentos de", "Introdução a", "Prática de", "Domínio de", "Oficina de",
            "Imersão em", "Do Zero ao Avançado:")
FIRST = ("Ana", "João", "Márcia", "José", "Luíza", "Antônio", "Sérgio", "Beatriz", "Inês",
         "Fábio", "Tânia", "Otávio", "Lúcia", "Caio", "Renée", "Conceição")
LAST = ("Araújo", "Gonçalves", "Magalhães", "Simões", "Guimarães", "Brandão", "Falcão",
        "Assunção", "Lopes", "Mendonça", "Sá", "Estêvão", "Peçanha", "Conceição")
MODULES = ("Fundamentos", "Diagnóstico", "Posicionamento", "Aquisição", "Conversão",
           "Retenção", "Métricas", "Automação", "Escala", "Estudos de Caso", "Projeto Final",
           "Revisão", "Ferramentas", "Comunicação", "Planejamento", "Execução")
VERBS = ("Compreender", "Aplicar", "Avaliar", "Construir", "Identificar", "Comparar",
         "Planejar", "Explicar", "Otimizar", "Medir")
LEVELS = ("beginner", "intermediate", "advanced", "expert")
STATUSES = ("draft", "reviewed", "published", "archived")
POOL = 4096  # sentences drawn once; bodies are assembled from them


def slugify(text):
    """ASCII lower case, runs of anything else as one '-'."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out, dash = [], False
    for ch in text.lower():
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


def q(text):
    """A YAML double-quoted scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


class Pool:
    """Sentences, titles and blocks made once from the seed; cheap to draw from."""

    def __init__(self, seed):
        r = random.Random("pool:%d" % seed)

        def words(n):
            return " ".join(r.choice(WORDS) for _ in range(n))

        self.sentences = []
        for _ in range(POOL):
            s = words(r.randint(6, 16))
            self.sentences.append(s[0].upper() + s[1:] + r.choice(".....!?:"))
        self.titles = []
        for _ in range(POOL):
            t = words(r.randint(3, 7))
            t = t[0].upper() + t[1:]
            if r.random() < 0.2:
                t += ": " + words(2)  # a colon: the title must be quoted in YAML
            self.titles.append(t)
        self.phrases = [words(r.randint(2, 6)) for _ in range(POOL)]
        self.blocks = []  # (text, bytes) of non-paragraph blocks
        for i in range(POOL // 4):
            k = i % 4
            if k == 0:
                b = "\n".join("- " + self.phrases[r.randrange(POOL)] for _ in range(r.randint(2, 5)))
            elif k == 1:
                b = "> " + self.sentences[r.randrange(POOL)]
            elif k == 2:
                b = ("```python\n# " + self.phrases[r.randrange(POOL)] + "\n"
                     "def calcular(valor, taxa=0.1):\n    return valor * (1 + taxa)\n```")
            else:
                b = ("Veja [" + self.phrases[r.randrange(POOL)] + "](https://exemplo.com.br/"
                     + slugify(self.phrases[r.randrange(POOL)]) + ").")
            self.blocks.append((b, len(b.encode("utf-8"))))
        self.sentence_bytes = [len(s.encode("utf-8")) for s in self.sentences]

    def body(self, r, heading, nbytes):
        parts = ["", "# " + heading, ""]
        size = len(heading.encode("utf-8")) + 4
        section = 0
        while size < nbytes:
            k = r.random()
            if k < 0.12:
                section += 1
                block = "## %d. %s" % (section, self.titles[r.randrange(POOL)])
                n = len(block.encode("utf-8"))
            elif k < 0.3:
                block, n = self.blocks[r.randrange(len(self.blocks))]
            else:
                idx = [r.randrange(POOL) for _ in range(r.randint(2, 5))]
                block = " ".join(self.sentences[i] for i in idx)
                n = sum(self.sentence_bytes[i] for i in idx) + len(idx) - 1
            parts.append(block)
            parts.append("")
            size += n + 2
        return "\n".join(parts) + "\n"


def course_files(pool, seed, ci, a):
    """Yield (relative path, text) of course ci; depends only on seed and ci."""
    r = random.Random("course:%d:%d" % (seed, ci))
    title = "%s %s" % (r.choice(PREFIXES), r.choice(TOPICS))
    slug = "%s-%04d" % (slugify(title), ci)
    instructor = "%s %s" % (r.choice(FIRST), r.choice(LAST))
    mind = slugify(instructor)
    tags = sorted({pool.phrases[r.randrange(POOL)].split()[0] for _ in range(r.randint(2, 5))})
    modules = [r.choice(MODULES) + ("" if r.random() < 0.7 else " %d" % m)
               for m in range(1, a.modules + 1)]
    level = r.choice(LEVELS)
    fm = [
        "---",
        "course_slug: " + slug,
        "title: " + q(title),
        "subtitle: " + q(pool.titles[r.randrange(POOL)]),
        "creator_mind: " + mind,
        "status: " + r.choice(("draft", "in_progress", "published")),
        "version: " + q("%d.%d" % (r.randint(1, 3), r.randint(0, 12))),
        "created_at: " + q("2025-%02d-%02d" % (r.randint(1, 12), r.randint(1, 28))),
        "instructor:",
        "  name: " + q(instructor),
        "  email: " + q(mind + "@exemplo.com.br"),
        "  bio: " + q(pool.sentences[r.randrange(POOL)]),
        "mmos_persona:",
        "  mind_slug: " + mind + "-persona",
        "  mind_name: " + q(instructor + " (persona)"),
        "  fidelity_target: %.2f" % (0.8 + r.random() * 0.19),
        "tags:",
    ] + ["  - " + q(t) for t in tags] + [
        "target_audience:",
        "  name: " + q("Público de " + title),
        "  level: " + q(level),
        "  technical_level: " + level,
        "  prerequisites:",
    ] + ["    - " + q(pool.phrases[r.randrange(POOL)]) for _ in range(r.randint(1, 3))] + [
        "pricing:",
        "  currency: BRL",
        "  amount: %d" % r.choice((97, 197, 297, 497, 997)),
        "modules_count: %d" % a.modules,
        "lessons_count: %d" % (a.modules * a.lessons),
        "---",
    ]
    outline = "\n".join("- Módulo %d: %s" % (m, n) for m, n in enumerate(modules, 1))
    body = pool.body(r, "Course Brief - " + title, max(a.body_bytes // 2, 64))
    yield slug + "/COURSE-BRIEF.md", "\n".join(fm) + "\n" + body + "\n## Estrutura\n\n" + outline + "\n"

    for m in range(1, a.modules + 1):
        for l in range(1, a.lessons + 1):
            lt = pool.titles[r.randrange(POOL)]
            lid = "%d.%d" % (m, l)
            lslug = slugify(lt)[:50].strip("-") or "aula"
            ltags = sorted({pool.phrases[r.randrange(POOL)].split()[-1] for _ in range(r.randint(1, 3))})
            lfm = [
                "---",
                "lesson_id: " + q(lid),
                "title: " + q(lt),
                "module: %d" % m,
                "module_name: " + q(modules[m - 1]),
                "duration_minutes: %d" % r.randint(4, 45),
                "learning_objectives:",
            ] + ["  - " + q(r.choice(VERBS) + " " + pool.phrases[r.randrange(POOL)])
                 for _ in range(r.randint(2, 4))] + [
                "tags: [" + ", ".join(q(t) for t in ltags) + "]",
                "fidelity_score: %.3f" % r.random(),
                "status: " + r.choice(STATUSES),
                "---",
            ]
            if a.layout == "modules":
                rel = "%s/lessons/modulo-%02d/aula-%s-%s.md" % (slug, m, lid, lslug)
            else:
                rel = "%s/lessons/%s-%s.md" % (slug, lid, lslug)
            text = "\n".join(lfm) + "\n" + pool.body(r, lid + " — " + lt, a.body_bytes)
            yield rel, text


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Write a deterministic synthetic tree of course files (see the header).")
    ap.add_argument("outdir", help="the root to write (created; existing files are overwritten)")
    ap.add_argument("--courses", type=int, default=100, help="courses (default 100)")
    ap.add_argument("--modules", type=int, default=10, help="modules per course (default 10)")
    ap.add_argument("--lessons", type=int, default=10, help="lessons per module (default 10)")
    ap.add_argument("--body-bytes", type=int, default=4096,
                    help="approximate body size of a lesson; briefs get half (default 4096)")
    ap.add_argument("--seed", type=int, default=42, help="the seed (default 42)")
    ap.add_argument("--layout", choices=("flat", "modules"), default="flat",
                    help="lessons directly under lessons/ (default) or in modulo-NN/ directories")
    a = ap.parse_args(argv)
    for name in ("courses", "modules", "lessons", "body_bytes"):
        if getattr(a, name) < (0 if name == "body_bytes" else 1):
            ap.error("--%s must be at least %d" % (name.replace("_", "-"), 0 if name == "body_bytes" else 1))

    t0 = time.monotonic()
    pool = Pool(a.seed)
    made = set()
    nfiles = nbytes = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    for ci in range(1, a.courses + 1):
        for rel, text in course_files(pool, a.seed, ci, a):
            path = os.path.join(a.outdir, rel)
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            data = text.encode("utf-8")
            fd = os.open(path, flags, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            nfiles += 1
            nbytes += len(data)
    print("corpus=%s courses=%d lessons=%d files=%d bytes=%d seconds=%.2f" % (
        a.outdir, a.courses, a.courses * a.modules * a.lessons, nfiles, nbytes,
        time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
