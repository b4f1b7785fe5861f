"""Topic groups: DialogSum's hundreds of topic strings folded into at most 15 named groups plus "other".

    topic_group("buy a car")                 # "Cars & getting around"
    rules_table()                            # the grouping itself, as rows a person can read
    group_counts(data, "test")               # {group: dialogues}
    per_topic(result, min_examples=10)       # [{group, examples, scores, too_few}, ...] for one evaluation

DialogSum's test split has about 450 distinct topics across 500 dialogues, so a
table over raw topics is mostly groups of one. The rules below are keyword lists:
a topic belongs to the first group with a keyword in it (whole words, plural -s
allowed), so "buy a car" is about cars before it is about shopping. The rules are
written from topics like DialogSum's ("job interview", "daily casual talk",
"see a doctor", "rent an apartment", ...) and the bundled sample's.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

OTHER = "other"
DEFAULT_MIN_EXAMPLES = 10   # fewer dialogues than this: the interval is too wide to read anything into
MAX_GROUPS = 15

# Order matters: the first group with a matching keyword wins.
GROUP_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Jobs & careers", ("job", "interview", "career", "resume", "hire", "hiring", "recruit", "recruitment",
                        "employment", "applicant", "application", "position", "salary", "promotion", "quit",
                        "resign", "resignation", "job hunting", "intern", "internship")),
    ("Health & doctors", ("doctor", "health", "hospital", "sick", "illness", "medicine", "medical", "dentist",
                          "pain", "injury", "diet", "disease", "flu", "cold", "symptom", "clinic", "patient",
                          "checkup", "check up", "smoking", "allergy", "nurse",
                          "vaccination", "vaccine", "insomnia", "sleep", "weight", "stress")),
    ("School & study", ("school", "study", "studies", "student", "class", "course", "exam", "test", "university",
                        "college", "teacher", "homework", "education", "library", "lesson", "learn", "learning",
                        "graduation", "degree", "major", "scholarship", "campus", "lecture", "thesis",
                        "tutoring", "tutor", "speech", "kindergarten")),
    ("Food & restaurants", ("restaurant", "food", "dinner", "lunch", "breakfast", "meal", "cooking", "cook",
                            "menu", "cafe", "coffee", "drink", "bar", "recipe", "dish", "order food", "takeaway",
                            "pizza", "wine", "tea", "fruit", "dessert", "cake", "snack", "vegetable", "drinking",
                            "barbecue", "picnic")),
    ("Travel & hotels", ("travel", "trip", "vacation", "holiday", "hotel", "flight", "airport", "tour",
                         "tourism", "reservation", "booking", "check in", "check out", "ticket", "sightseeing",
                         "visa", "passport", "luggage", "baggage", "journey", "abroad", "customs", "cruise",
                         "immigration", "beach")),
    ("Cars & getting around", ("car", "taxi", "bus", "train", "subway", "drive", "driving", "traffic",
                               "direction", "ask for directions", "way", "parking", "bike", "bicycle", "transport",
                               "transportation", "ride", "accident", "road", "license", "gas station",
                               "commute", "speeding")),
    ("Housing & moving", ("apartment", "flat", "rent", "rental", "renting", "house", "housing", "home", "moving",
                          "move", "landlord", "neighbor", "neighbour", "roommate", "real estate", "furniture",
                          "decoration", "dormitory", "dorm", "mortgage", "interior design",
                          "renovation", "plumbing", "electricity", "housework", "neighborhood", "noise", "keys")),
    ("Money & banking", ("bank", "money", "account", "loan", "credit", "credit card", "payment", "pay", "tax",
                         "insurance", "investment", "invest", "stock", "budget", "finance", "financial", "cash",
                         "currency", "exchange", "saving", "savings", "bill", "debt", "retirement", "pension",
                         "economy")),
    ("Shopping", ("shopping", "shop", "buy", "buying", "purchase", "store", "market", "supermarket", "mall",
                  "price", "bargain", "discount", "sale", "clothes", "clothing", "gift", "return", "refund",
                  "order", "size", "fitting", "fashion", "makeup", "cosmetics", "shoe", "jewelry",
                  "hair style")),
    ("Services & errands", ("phone", "telephone", "phone call", "post office", "mail", "package", "delivery",
                            "repair", "service", "customer service", "complaint", "lost", "lost and found",
                            "police", "internet", "computer", "laundry", "haircut", "hairdresser", "barber",
                            "appointment", "registration", "printer", "print", "email", "software",
                            "install", "emergency", "crime", "robbery", "theft", "court", "lawyer", "law",
                            "safety", "privacy")),
    ("Work & business", ("work", "office", "meeting", "business", "company", "colleague", "coworker", "boss",
                         "manager", "conference", "report", "contract", "negotiation", "negotiate", "deal",
                         "trade", "marketing", "presentation", "project", "product", "client",
                         "schedule", "overtime", "staff", "employee", "training", "performance",
                         "dress code", "shipment", "quality", "compensation", "advertisement", "absence")),
    ("Family & relationships", ("family", "marriage", "married", "wedding", "date", "dating", "love",
                                "relationship", "friendship", "friend", "parent", "child", "children", "kid",
                                "baby", "mother", "father", "mom", "dad", "brother", "sister", "divorce",
                                "husband", "wife", "boyfriend", "girlfriend", "pet", "romance", "proposal",
                                "engagement", "honeymoon", "pregnancy", "childcare", "parenting", "grandparent",
                                "break up", "breakup", "dog", "cat")),
    ("Parties & celebrations", ("party", "birthday", "invitation", "invite", "celebration", "celebrate",
                                "festival", "christmas", "anniversary", "new year", "thanksgiving", "halloween",
                                "gathering", "weekend")),
    ("Sports, hobbies & fun", ("sport", "hobby", "hobbies", "movie", "film", "cinema", "music", "concert",
                               "game", "football", "soccer", "basketball", "tennis", "gym", "exercise", "fitness",
                               "swimming", "running", "reading", "book", "tv", "television", "show", "art",
                               "painting", "photography", "photo", "museum", "dance", "dancing", "entertainment",
                               "leisure", "fun", "camping", "fishing", "garden", "gardening", "hiking",
                               "mountain climbing", "flower", "karaoke", "theater", "theatre", "opera", "match",
                               "lottery", "night out", "olympics", "zoo", "nature", "magazine", "newspaper")),
    ("Everyday chat & weather", ("daily casual talk", "casual", "chat", "small talk", "talk", "weather", "greeting",
                                 "news", "opinion", "personal", "introduction", "life", "daily life", "describe",
                                 "description", "feeling", "mood", "habit", "plan", "advice", "hometown",
                                 "season", "climate", "time", "temperature", "favor", "suggestion", "gratitude",
                                 "thanks", "story", "congratulate", "congratulations", "persuade", "discussion",
                                 "regret", "disappointment", "worry", "refusal", "quarrel", "argument",
                                 "misunderstanding", "forgive", "apology", "apologize", "being late", "bad day",
                                 "luck", "dream", "happiness", "personality", "appearance", "confidence",
                                 "shyness", "loneliness", "success", "failure", "goal", "self improvement",
                                 "secret", "gossip", "rumor", "joke", "riddle", "puzzle", "quiz", "magic",
                                 "superstition", "religion", "ghost", "culture", "tradition", "volunteer", "surprise",
                                 "charity", "election", "pollution", "recycling", "global warming")),
)

@lru_cache(maxsize=1)
def _compiled() -> tuple[tuple[str, re.Pattern], ...]:
    out = []
    for group, keywords in GROUP_RULES:
        alternatives = "|".join(re.escape(k).replace(r"\ ", r"\s+") for k in sorted(keywords, key=len, reverse=True))
        out.append((group, re.compile(rf"\b(?:{alternatives})(?:s|es)?\b")))
    return tuple(out)

def topic_group(topic: str) -> str:
    """The named group a topic string belongs to, or "other"."""
    text = (topic or "").lower().replace("_", " ").replace("-", " ")
    for group, pattern in _compiled():
        if pattern.search(text):
            return group
    return OTHER

def group_names() -> list[str]:
    return [group for group, _ in GROUP_RULES] + [OTHER]

def rules_table() -> list[dict]:
    """The grouping as a readable table: group, then its keywords, in the order they are tried."""
    return [{"group": group, "keywords": ", ".join(keywords)} for group, keywords in GROUP_RULES] + \
        [{"group": OTHER, "keywords": "(any topic no rule above matches)"}]

def count_groups(topics) -> dict[str, int]:
    """Dialogues per group, largest first, "other" last; groups with no dialogues are left out."""
    counts = Counter(topic_group(t) for t in topics)
    named = sorted((g for g in counts if g != OTHER), key=lambda g: (-counts[g], g))
    out = {g: counts[g] for g in named}
    if counts[OTHER]:
        out[OTHER] = counts[OTHER]
    return out

def group_counts(data, split: str) -> dict[str, int]:
    """Dialogues per topic group in one split of a DialogData (for `data --json`'s topic_groups)."""
    return count_groups(ex.topic for ex in data.split(split))

def per_group_scores(topics: list[str], tables: dict, metrics=("rouge1", "rouge2", "rougeL"),
                     min_examples: int = DEFAULT_MIN_EXAMPLES, seed: int = 0) -> list[dict]:
    """Per topic group: dialogues, each model's mean and 95% bootstrap interval, and whether too few to read.

    `tables` maps model -> per-example scores (a DataFrame or dict of columns) in the order of `topics`.
    """
    from studio.measure.evaluation import bootstrap_interval

    if isinstance(min_examples, bool) or not isinstance(min_examples, int) or min_examples < 1:
        raise ValueError(f"The smallest group size to show must be a whole number of at least 1, not {min_examples!r}.")
    groups = [topic_group(t) for t in topics]
    columns = {model: {m: [float(v) for v in table[m]] for m in metrics} for model, table in tables.items()}
    for model, by_metric in columns.items():
        if any(len(values) != len(groups) for values in by_metric.values()):
            raise ValueError(f"Model {model} has scores for a different number of dialogues than there are topics.")
    rows = []
    for group, examples in count_groups(topics).items():
        members = [i for i, g in enumerate(groups) if g == group]
        scores = {}
        for model, by_metric in columns.items():
            scores[model] = {}
            for metric in metrics:
                values = [by_metric[metric][i] for i in members]
                low, high = bootstrap_interval(values, seed=seed)
                scores[model][metric] = {"mean": sum(values) / len(values), "low": low, "high": high}
        rows.append({"group": group, "examples": examples, "scores": scores, "too_few": examples < min_examples})
    return rows

def per_topic(result, metrics=("rouge1", "rouge2", "rougeL"), min_examples: int = DEFAULT_MIN_EXAMPLES,
              seed: int = 0) -> list[dict]:
    """`evaluate --json`'s per_topic list for an EvaluationResult (needs its per-example scores)."""
    if not result.per_model:
        raise ValueError("This evaluation kept no per-example scores to break down by topic.")
    return per_group_scores(list(result.per_example["topic"]), {m: result.per_model[m] for m in result.models},
                            metrics, min_examples, seed)
