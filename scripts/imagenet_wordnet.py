"""Ground ImageNet-1k's class names in WordNet 3.0 (Debian's wordnet-base), with the standard library.

ImageNet's classes are WordNet noun synsets, listed in the order of their ids (n + the synset's
8-digit offset in data.noun). The class list vtx ships has names only ("tabby, tabby cat"), so each
class is matched to a synset holding its names as lemmas, and where several do ("crane" the bird
and the machine), the order decides: offsets must rise from class to class. A dynamic programme
picks, over all classes at once, the rising sequence whose synsets hold the most of the names.

Writes one line per class, in class order: wnid<TAB>its hypernyms, nearest first, as words
("domestic cat, house cat; cat, true cat; feline; ...")<TAB>its gloss. Fails, writing nothing, if a
class has no candidate, or if known anchors (the first, a middle and the last class) come out wrong.

Usage: imagenet_wordnet.py DATA_NOUN LABELS_TXT OUT_TSV
"""

import os
import sys

# Ancestors this general say nothing about what a thing looks like.
STOP = {"entity", "physical entity", "abstraction", "object", "whole", "thing", "matter",
        "physical object", "unit", "artifact", "artefact", "living thing", "organism", "being",
        "causal agent", "cause", "causal agency", "instrumentality", "instrumentation"}
# How many hypernyms, nearest first, describe a class.
DEPTH = 6
# (class index, wnid) pairs that the mapping must reproduce: the ends, both cranes (the bird and
# the machine share the name), a cat and a car.
ANCHORS = [(0, "n01440764"), (1, "n01443537"), (134, "n02012849"), (281, "n02123045"), (517, "n03126707"),
           (817, "n04285008"), (999, "n15075141")]


def read_synsets(path):
    """offset -> (lemmas, hypernym offsets, gloss)."""
    synsets = {}
    with open(path, encoding="latin-1") as data:
        for line in data:
            if line.startswith(" "):
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            offset, count = fields[0], int(fields[3], 16)
            lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
            at = 4 + 2 * count
            pointers = int(fields[at])
            hypernyms = []
            for p in range(pointers):
                symbol, target, pos = fields[at + 1 + 4 * p: at + 4 + 4 * p]
                if symbol in ("@", "@i") and pos == "n":
                    hypernyms.append(target)
            synsets[offset] = ([l.split("(")[0] for l in lemmas], hypernyms, gloss.strip())
    return synsets


def choose(classes, synsets):
    """Per class, the synset offset: the rising sequence matching the most names."""
    by_lemma = {}
    for offset, (lemmas, _, _) in synsets.items():
        for lemma in lemmas:
            by_lemma.setdefault(lemma.lower(), set()).add(offset)
    candidates = []
    for i, names in enumerate(classes):
        found = {}
        for name in names:
            for offset in by_lemma.get(name.lower(), ()):
                found[offset] = found.get(offset, 0) + 1
        if not found:
            sys.exit(f"class {i} ({', '.join(names)}): no WordNet noun has any of its names")
        candidates.append(sorted((int(o), score) for o, score in found.items()))
    # best[i][j]: the most names matched by classes 0..i ending with candidate j of class i.
    best, back = [], []
    for i, options in enumerate(candidates):
        row, links = [], []
        for offset, score in options:
            if i == 0:
                row.append(score)
                links.append(None)
                continue
            prior = [(best[i - 1][k], k) for k, (o, _) in enumerate(candidates[i - 1])
                     if o < offset and best[i - 1][k] is not None]
            if not prior:
                row.append(None)
                links.append(None)
                continue
            total, k = max(prior)
            row.append(total + score)
            links.append(k)
        if all(r is None for r in row):
            sys.exit(f"class {i} ({', '.join(classes[i])}): no synset fits the rising order")
        best.append(row)
        back.append(links)
    j = max((s, j) for j, s in enumerate(best[-1]) if s is not None)[1]
    chosen = []
    for i in range(len(candidates) - 1, -1, -1):
        chosen.append(candidates[i][j][0])
        j = back[i][j]
    return [f"{o:08d}" for o in reversed(chosen)]


def describe(offset, synsets):
    """Its hypernyms, nearest first (breadth first over several parents), and its gloss."""
    seen, words, frontier = {offset}, [], list(synsets[offset][1])
    while frontier and len(words) < DEPTH:
        next_frontier = []
        for parent in frontier:
            if parent in seen:
                continue
            seen.add(parent)
            lemmas = synsets[parent][0]
            if lemmas[0].lower() not in STOP:
                words.append(", ".join(lemmas[:2]))
            next_frontier.extend(synsets[parent][1])
        frontier = next_frontier
    return "; ".join(words[:DEPTH]), synsets[offset][2]


def main():
    data_noun, labels, out = sys.argv[1:4]
    synsets = read_synsets(data_noun)
    classes = [[n.strip() for n in line.split(",") if n.strip()]
               for line in open(labels, encoding="utf-8") if line.strip()]
    offsets = choose(classes, synsets)
    for i, wnid in ANCHORS:
        if i < len(offsets) and "n" + offsets[i] != wnid:
            sys.exit(f"class {i} maps to n{offsets[i]}, expected {wnid}: the mapping is wrong")
    full = sum(all(n.lower() in {l.lower() for l in synsets[o][0]} for n in names)
               for names, o in zip(classes, offsets))
    tmp = out + ".part"
    with open(tmp, "w", encoding="utf-8") as f:
        for o in offsets:
            hypernyms, gloss = describe(o, synsets)
            f.write(f"n{o}\t{hypernyms}\t{gloss}\n")
    os.replace(tmp, out)
    print(f"{out}: {len(offsets)} classes grounded in WordNet, offsets rising; "
          f"{full} have every name among their synset's lemmas", file=sys.stderr)


if __name__ == "__main__":
    main()
