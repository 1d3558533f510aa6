"""A deterministic, synthetic 4-class news-topic corpus (no data can be downloaded).

Labels are exactly ``LABELS``. Texts come from templates with many entities and synonyms per
class, plus vocabulary shared between classes, "bridge" stories whose content fits two classes
(Business/Sci-Tech, World/Business, Sports/Business, World/Sci-Tech), a little label noise, typos,
mixed case, punctuation, quotes, ``<br />``, numbers, rare names that end up out of vocabulary,
non-Latin names and some long texts (> 72 tokens). The task is learnable but not trivially so:
the bridge stories and label noise cap test accuracy around 0.9.

    PYTHONPATH=training /usr/bin/python3 -m shipshape_train.corpus [--show 10]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence

LABELS: List[str] = ["World", "Sports", "Business", "Sci/Tech"]
WORLD, SPORTS, BUSINESS, SCITECH = range(4)

DEFAULT_SEED = 20261126
DEFAULT_SIZES = {"train": 16000, "validation": 2000, "test": 2000}


@dataclass(frozen=True)
class Example:
    text: str
    label: int

    @property
    def label_name(self) -> str:
        return LABELS[self.label]


# ---------------------------------------------------------------------------------------------
# Lexicon. Slot names are {like_this}; a slot may appear several times and is filled each time.

LEX: Dict[str, Sequence[str]] = {
    # --- World
    "country": [
        "Iraq", "Iran", "Israel", "Syria", "Lebanon", "Egypt", "Sudan", "Kenya", "Nigeria", "Ethiopia",
        "Somalia", "Libya", "Afghanistan", "Pakistan", "India", "China", "Japan", "North Korea",
        "South Korea", "Russia", "Ukraine", "Georgia", "Belarus", "Turkey", "Greece", "Cyprus", "Serbia",
        "Kosovo", "France", "Germany", "Britain", "Spain", "Italy", "Poland", "Brazil", "Venezuela",
        "Colombia", "Mexico", "Haiti", "Cuba", "Peru", "Bolivia", "Chile", "Argentina", "Indonesia",
        "the Philippines", "Thailand", "Myanmar", "Nepal", "Sri Lanka", "Zimbabwe", "Congo", "Rwanda",
        "Yemen", "Jordan", "Saudi Arabia", "Qatar", "Algeria", "Morocco", "Mali", "Chad", "Uzbekistan",
    ],
    "city": [
        "Baghdad", "Tehran", "Jerusalem", "Gaza", "Beirut", "Cairo", "Khartoum", "Nairobi", "Kabul",
        "Islamabad", "New Delhi", "Beijing", "Tokyo", "Pyongyang", "Seoul", "Moscow", "Kiev", "Tbilisi",
        "Ankara", "Athens", "Nicosia", "Belgrade", "Paris", "Berlin", "London", "Madrid", "Rome",
        "Warsaw", "Brasilia", "Caracas", "Bogota", "Havana", "Lima", "Jakarta", "Manila", "Bangkok",
        "Kathmandu", "Colombo", "Harare", "Kinshasa", "Kigali", "Sanaa", "Amman", "Riyadh", "Doha",
        "Algiers", "Bamako", "Geneva", "Brussels", "The Hague", "São Paulo", "Kraków", "Gdańsk",
        "İstanbul", "İzmir", "Zürich", "Thessaloníki",
    ],
    "foreign_name": [
        "Αθήνα", "Λευκωσία", "Москва", "Киев", "Белград", "北京", "東京", "서울", "القاهرة", "بغداد",
        "תל אביב", "दिल्ली", "กรุงเทพ", "ΕΛΛΑΣ", "ΚΥΠΡΟΣ", "ΠΕΙΡΑΙΑΣ", "ΜΟΣΚΒΑ", "ΚΙΕΒ",
    ],
    "world_org": [
        "the United Nations", "the UN Security Council", "NATO", "the European Union", "the African Union",
        "the Red Cross", "Amnesty International", "the Arab League", "the IAEA", "the World Health Organization",
        "UNICEF", "Human Rights Watch", "the International Criminal Court", "ASEAN", "the OSCE",
    ],
    "leader_title": [
        "President", "Prime Minister", "Foreign Minister", "Defense Minister", "Chancellor", "King",
        "Interior Minister", "opposition leader", "Secretary of State", "envoy", "General", "Premier",
    ],
    "world_noun": [
        "election", "ceasefire", "parliament", "protest", "troops", "refugees", "summit", "treaty",
        "peace talks", "rebels", "embassy", "sanctions", "border", "referendum", "coalition government",
        "militants", "insurgents", "hostages", "airstrike", "bombing", "curfew", "humanitarian aid",
        "peacekeepers", "nuclear program", "uprising", "coup", "constitution", "ballot", "polls",
        "diplomats", "asylum seekers", "death toll", "earthquake", "floods", "famine", "cabinet",
    ],
    "world_verb": [
        "condemned", "rejected", "warned of", "called for", "denounced", "welcomed", "backed",
        "postponed", "suspended", "demanded", "vowed to end", "agreed to", "pledged support for",
    ],
    "world_group": [
        "gunmen", "protesters", "soldiers", "police", "villagers", "voters", "lawmakers", "ministers",
        "rebel fighters", "aid workers", "officials", "monitors", "militiamen", "security forces",
    ],
    "world_event": [
        "a suicide bomber killed {num_small} people", "fighting flared near the border",
        "thousands marched through the capital", "the army imposed a curfew",
        "voters went to the polls", "the ruling party claimed victory",
        "a car bomb exploded outside a police station", "rebels seized a northern town",
        "the cabinet resigned", "talks collapsed over the disputed region",
        "a deadly earthquake struck the region", "floods displaced {num_big} residents",
        "hostages were freed after {num_small} days", "the parliament approved a new constitution",
    ],
    # --- Sports
    "team": [
        "the Yankees", "the Red Sox", "the Cardinals", "the Astros", "the Dodgers", "the Cubs",
        "the Patriots", "the Eagles", "the Colts", "the Steelers", "the Packers", "the Broncos",
        "the Lakers", "the Pistons", "the Spurs", "the Heat", "the Knicks", "the Celtics",
        "Manchester United", "Arsenal", "Chelsea", "Liverpool", "Real Madrid", "Barcelona",
        "AC Milan", "Juventus", "Bayern Munich", "Ajax", "Porto", "Celtic", "Rangers",
        "the Maple Leafs", "the Red Wings", "Auburn", "USC", "Oklahoma", "Texas", "Miami",
        "Duke", "Kansas", "the All Blacks", "the Wallabies", "Brazil's national team",
    ],
    "athlete": [
        "Roger Federer", "Andy Roddick", "Lleyton Hewitt", "Serena Williams", "Maria Sharapova",
        "Tiger Woods", "Vijay Singh", "Phil Mickelson", "Michael Phelps", "Ian Thorpe",
        "Lance Armstrong", "Jan Ullrich", "Michael Schumacher", "Fernando Alonso", "Barry Bonds",
        "Curt Schilling", "Pedro Martinez", "Tom Brady", "Peyton Manning", "Kobe Bryant",
        "Shaquille O'Neal", "LeBron James", "Thierry Henry", "Wayne Rooney", "Ronaldinho",
        "Zinédine Zidane", "David Beckham", "Paula Radcliffe", "Hicham El Guerrouj", "Yao Ming",
        "Dirk Nowitzki", "Martina Navrátilová", "Justine Henin", "Kim Clijsters", "Marat Safin",
    ],
    "competition": [
        "the World Series", "the Super Bowl", "the NBA Finals", "the Stanley Cup", "the Olympics",
        "Wimbledon", "the US Open", "the Australian Open", "the French Open", "the Ryder Cup",
        "the Masters", "the Tour de France", "the Champions League", "the Premier League",
        "the World Cup", "the Grand Prix", "the Davis Cup", "the Heisman race", "the playoffs",
        "the Six Nations", "the Euro 2004 qualifiers", "the Orange Bowl", "the Final Four",
    ],
    "sport_noun": [
        "coach", "quarterback", "goal", "innings", "playoffs", "title", "match", "season",
        "championship", "striker", "medal", "semifinal", "touchdown", "home run", "pitcher",
        "midfielder", "goalkeeper", "free kick", "penalty", "overtime", "lap", "gold medal",
        "world record", "hat trick", "rookie", "injury", "roster", "tournament", "defense", "offense",
        "batting order", "grand slam", "sprint", "marathon", "relay", "knockout round",
    ],
    "sport_verb": [
        "beat", "defeated", "edged", "routed", "crushed", "stunned", "outlasted", "held off",
        "rallied past", "upset", "blanked", "swept", "drew with", "knocked out",
    ],
    "sport_event": [
        "scored twice in the second half", "hit a three-run homer in the ninth",
        "threw for {num_small} touchdowns", "won in straight sets", "finished {num_small} strokes ahead",
        "broke the world record", "was injured in the first quarter", "converted a late penalty",
        "struck out {num_small} batters", "sank a buzzer-beater", "took the yellow jersey",
        "clinched the division title", "kept a clean sheet", "forced overtime with a late goal",
    ],
    # --- Business
    "company": [
        "General Motors", "Ford", "Toyota", "Boeing", "Airbus", "Wal-Mart", "Exxon Mobil",
        "Chevron", "Citigroup", "JPMorgan Chase", "Merrill Lynch", "Goldman Sachs", "Morgan Stanley",
        "Pfizer", "Merck", "Coca-Cola", "PepsiCo", "McDonald's", "Kmart", "Sears", "Target",
        "Delta Air Lines", "United Airlines", "US Airways", "Alitalia", "Nestlé", "Siemens",
        "Volkswagen", "Royal Dutch Shell", "BP", "Yukos", "Gazprom", "Halliburton", "AIG",
        "Fannie Mae", "Freddie Mac", "Altria", "Kraft", "Disney", "Time Warner", "Viacom",
        "Nortel", "Lucent", "Qwest", "Verizon", "AT&T", "Deutsche Bank", "HSBC", "Barclays",
    ],
    "exec_title": ["chief executive", "CEO", "chairman", "chief financial officer", "founder", "president"],
    "biz_noun": [
        "profit", "earnings", "shares", "stocks", "quarterly results", "revenue", "merger",
        "acquisition", "investors", "dividend", "bonds", "inflation", "interest rates",
        "initial public offering", "bankruptcy", "layoffs", "oil prices", "crude futures", "pension plan",
        "sales", "retail sales", "jobless claims", "trade deficit", "the dollar", "Treasury yields",
        "takeover bid", "buyout", "market share", "outlook", "forecast", "stock price", "shareholders",
        "debt rating", "consumer spending", "mortgage rates", "the Dow", "the Nasdaq", "the S&P 500",
    ],
    "biz_verb": [
        "rose", "fell", "climbed", "slipped", "surged", "slumped", "jumped", "tumbled", "rebounded",
        "edged higher", "edged lower", "plunged", "soared", "dipped",
    ],
    "biz_event": [
        "posted a {pct} rise in quarterly profit", "cut its full-year forecast",
        "agreed to buy {company} for {money}", "announced {num_big} job cuts",
        "filed for Chapter 11 bankruptcy protection", "raised its dividend",
        "beat Wall Street expectations", "missed analysts' estimates",
        "warned that higher fuel costs would hurt margins", "reported a quarterly loss of {money}",
        "said same-store sales fell {pct}", "raised interest rates by a quarter point",
        "settled with regulators for {money}", "priced its initial public offering at {price} a share",
    ],
    "biz_person": [
        "Alan Greenspan", "Warren Buffett", "Carly Fiorina", "Jack Welch", "Martha Stewart",
        "Kenneth Lay", "Bernard Ebbers", "Hank Greenberg", "Eliot Spitzer", "John Snow",
        "Mikhail Khodorkovsky", "Richard Grasso",
    ],
    "biz_group": [
        "analysts", "investors", "economists", "traders", "regulators", "bondholders",
        "shareholders", "the Federal Reserve", "the SEC", "creditors", "the central bank",
    ],
    # --- Sci/Tech
    "techco": [
        "Microsoft", "Google", "Apple", "IBM", "Intel", "AMD", "Sun Microsystems", "Oracle",
        "Hewlett-Packard", "Dell", "Sony", "Nokia", "Motorola", "Cisco", "Yahoo", "eBay", "Amazon",
        "AOL", "Red Hat", "Novell", "Linspire", "RealNetworks", "Napster", "Texas Instruments",
        "Samsung", "Toshiba", "Nintendo", "Electronic Arts", "PalmOne", "Research In Motion",
        "Symantec", "McAfee", "Mozilla", "Opera", "Skype", "Vonage", "Qualcomm", "Nvidia",
    ],
    "science_org": [
        "NASA", "the European Space Agency", "MIT", "Caltech", "the Max Planck Institute", "CERN",
        "Stanford researchers", "Oxford scientists", "the Hubble team", "the Jet Propulsion Laboratory",
        "the National Science Foundation", "JAXA", "the Royal Society",
    ],
    "tech_product": [
        "software", "operating system", "browser", "search engine", "processor", "chip", "laptop",
        "handheld", "smartphone", "music player", "iPod", "Windows XP", "Service Pack 2", "Linux",
        "Firefox", "database", "server", "wireless network", "broadband service", "desktop search tool",
        "video game console", "PlayStation Portable", "flash memory", "graphics card", "open-source project",
        "spam filter", "instant messaging client", "Wi-Fi hotspot", "Internet telephony service",
    ],
    "science_noun": [
        "spacecraft", "telescope", "probe", "satellite", "genome", "stem cells", "fossil",
        "dinosaur", "asteroid", "comet", "Mars rover", "space station", "Saturn's moon Titan",
        "climate change", "global warming", "ozone layer", "species", "gene", "protein",
        "nanotechnology", "supercomputer", "black hole", "galaxy", "solar wind", "vaccine trial",
    ],
    "tech_verb": [
        "unveiled", "released", "launched", "patched", "developed", "demonstrated", "shipped",
        "previewed", "upgraded", "open-sourced", "licensed", "tested",
    ],
    "tech_event": [
        "fixed a critical security flaw", "released a beta version", "sued a file-sharing network",
        "detected water ice", "sequenced the genome", "found evidence of ancient oceans",
        "reported a new worm spreading through e-mail", "doubled the speed of the chip",
        "cut the price of its flagship model", "moved to {num_small}-nanometer manufacturing",
        "discovered a new species of frog", "beamed back pictures of the surface",
        "blocked millions of spam messages", "opened the source code to developers",
    ],
    "tech_group": [
        "researchers", "scientists", "astronomers", "engineers", "developers", "hackers",
        "programmers", "biologists", "physicists", "security experts", "geologists",
    ],
    # --- shared / ambiguous vocabulary
    "shared_noun": [
        "record", "deal", "launch", "talks", "win", "strike", "market", "report", "security",
        "network", "growth", "crisis", "bid", "star", "league", "plan", "game", "team", "players",
        "court", "season", "record high", "campaign", "race", "victory", "loss", "lead", "round",
        "champion", "offer", "future", "stake", "power", "challenge", "fight", "trial", "test",
    ],
    "said_verb": ["said", "says", "told reporters", "announced", "confirmed", "stated", "insisted", "reported"],
    "time": [
        "on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "on Saturday", "on Sunday",
        "yesterday", "today", "this week", "last week", "late on Friday", "early Monday", "overnight",
        "in {year}", "this year", "last month",
    ],
    "source": ["Reuters", "AP", "AFP", "Sports Network", "CNET News.com", "Forbes.com", "Canadian Press", "washingtonpost.com"],
    "adj": [
        "new", "major", "surprise", "long-awaited", "controversial", "historic", "key", "crucial",
        "unexpected", "bold", "tough", "late", "early", "big", "final", "rare", "top", "strong", "weak",
    ],
}

# Sentences per class. {rare} is a made-up name that will be out of vocabulary.
SENTENCES: Dict[int, Sequence[str]] = {
    WORLD: [
        "{leader_title} {rare} of {country} {world_verb} the {world_noun} {time}.",
        "{world_org} {world_verb} the {adj} {world_noun} in {country}.",
        "{world_group} in {city} {said_verb} that {world_event}.",
        "In {city}, {world_event} {time}, {world_group} {said_verb}.",
        "{country} and {country} {world_verb} the {world_noun} after {shared_noun} in {city}.",
        "The {world_noun} in {country} {said_verb} {world_group} would {world_verb2} the {world_noun}.",
        "{leader_title} of {country} arrived in {city} ({foreign_name}) for {world_noun} with {world_org}.",
        "\"We will not accept this {world_noun},\" the {leader_title} {said_verb} in {city}.",
        "At least {num_small} people were killed when {world_event2} in {country}.",
        "{world_org} {said_verb} {num_big} {world_group} had fled the {world_noun} in {country}.",
        "{country}'s {world_noun} threatens the {shared_noun} with {country}, {world_group} warned.",
        "The {adj} {world_noun} came as {world_event} in the south of {country}.",
        "Voters in {country} chose a new {world_noun} {time} amid fears of {world_noun}.",
        "{leader_title} {rare} {world_verb} {world_org}'s call for {world_noun} in {city}.",
    ],
    SPORTS: [
        "{athlete} {sport_event} as {team} {sport_verb} {team} {score} {time}.",
        "{team} {sport_verb} {team} {score} to reach {competition}.",
        "{athlete} won the {sport_noun} at {competition}, beating {athlete} {score}.",
        "The {sport_noun} {rare} {sport_event} and {team} {sport_verb} {team}.",
        "{team} signed {sport_noun} {rare} to a {num_small}-year contract {time}.",
        "\"It was a great {sport_noun},\" {athlete} {said_verb} after {team} {sport_verb} {team}.",
        "{athlete} {sport_event} in the {sport_noun} of {competition}.",
        "{team} head coach {rare} {said_verb} the {sport_noun} would miss {competition}.",
        "{athlete} set a {shared_noun} in the {sport_noun}, the {num_small}th of the {sport_noun2}.",
        "With {num_small} games left in the {sport_noun}, {team} lead {team} by {num_small} points.",
        "{team} fans celebrated after {athlete} {sport_event} at {competition}.",
        "{athlete} withdrew from {competition} with an {sport_injury} injury {time}.",
        "The {adj} {sport_noun} between {team} and {team} ended {score} after {sport_noun2}.",
        "{athlete} and {athlete} will meet in the {sport_round} of {competition}.",
    ],
    BUSINESS: [
        "{company} {biz_event} {time}, sending its {biz_noun} {biz_verb} {pct}.",
        "Shares of {company} {biz_verb} {pct} to {price} after the company {biz_event}.",
        "{biz_group} expect {company} to {biz_event_inf} as {biz_noun} {biz_verb}.",
        "{company} {exec_title} {rare} {said_verb} {biz_noun} would improve in the fourth quarter.",
        "{biz_noun} {biz_verb} {time} as {biz_group} worried about {biz_noun2}.",
        "The {adj} {shared_noun} values {company} at about {money}, {biz_group} {said_verb}.",
        "{biz_person} {said_verb} {biz_noun} remain a risk for the economy.",
        "{company} {said_verb} it {biz_event}, citing weak {biz_noun}.",
        "Stocks {biz_verb} on Wall Street {time} as {biz_noun} {biz_verb} and the dollar {biz_verb}.",
        "{company} and {company} are in talks over a {money} {biz_deal}, {source} reported.",
        "{biz_group} {said_verb} {company}'s {biz_noun} {biz_verb} {pct} in the third quarter.",
        "\"Our {biz_noun} are solid,\" {company}'s {exec_title} {said_verb} {time}.",
        "Oil prices {biz_verb} to {price} a barrel, lifting {company} and {company}.",
        "{company} will cut {num_big} jobs and close {num_small} plants to trim {biz_noun}.",
    ],
    SCITECH: [
        "{techco} {tech_verb} a {adj} {tech_product} {time}, {said_verb} {techco}'s {rare}.",
        "{science_org} {tech_group} {tech_event} using the {science_noun}.",
        "{tech_group} {said_verb} the {science_noun} {tech_event2}.",
        "{techco} {tech_event} in its {tech_product} {time}.",
        "The {adj} {tech_product} from {techco} runs {tech_product2} and costs {price}.",
        "{science_org} {tech_verb} a {science_noun} mission to study the {science_noun2}.",
        "\"This {tech_product} changes everything,\" {techco} {exec_title} {rare} {said_verb}.",
        "{tech_group} at {science_org} {said_verb} a {science_noun} {tech_event2}.",
        "A new worm targets {tech_product} users, {tech_group} at {techco} warned.",
        "{techco} {tech_verb} an update for its {tech_product} to fix {num_small} security holes.",
        "The {science_noun} {rare} was found by {tech_group} from {science_org}.",
        "{techco} and {techco} {tech_verb} a standard for {tech_product} {time}.",
        "{tech_group} {tech_verb} a {tech_product} that is {num_small} times faster than the {tech_product2}.",
        "{science_org}'s {science_noun} {tech_event2} after a {num_small}-year journey.",
    ],
}

HEADLINES: Dict[int, Sequence[str]] = {
    WORLD: [
        "{country} {world_verb} {world_noun}", "{world_noun} in {city}", "{world_org} urges {world_noun}",
        "{leader_title} visits {country}", "Deadly {world_noun} in {country}", "{country} {world_noun} {word_update}",
    ],
    SPORTS: [
        "{team} {sport_verb} {team}", "{athlete} wins {competition} {sport_noun}", "{athlete} out of {competition}",
        "{team} clinch {sport_noun}", "{competition}: {team} advance", "{athlete} {sport_event}",
    ],
    BUSINESS: [
        "{company} {biz_noun} {biz_verb}", "{company} to buy {company}", "{biz_noun} {biz_verb} on {biz_noun2}",
        "{company} {biz_event}", "Wall St. {biz_verb} as {biz_noun} {biz_verb}", "{company} names new {exec_title}",
    ],
    SCITECH: [
        "{techco} {tech_verb} {tech_product}", "{science_org} {science_noun} {word_update}",
        "{tech_group} find {science_noun}", "{techco} {tech_product} {word_update}",
        "New {tech_product} from {techco}", "{techco} {tech_event}",
    ],
}

# Stories that fit two classes equally well; the label is drawn between the two, which keeps the
# task from being trivially separable (like AG News's tech-earnings or sports-business stories).
BRIDGES: Dict[tuple, Sequence[str]] = {
    (BUSINESS, SCITECH): [
        "{techco} {said_verb} {biz_noun} {biz_verb} {pct} as demand for its {tech_product} grew.",
        "{techco} agreed to buy {techco} for {money} to expand its {tech_product} business.",
        "Shares of {techco} {biz_verb} after it {tech_verb} a {adj} {tech_product} {time}.",
        "{techco} will cut {num_big} jobs as {tech_product} {biz_noun} {biz_verb}.",
        "{techco}'s {exec_title} {said_verb} the {tech_product} {shared_noun} would lift {biz_noun}.",
        "{biz_group} {said_verb} {techco}'s {tech_product} could win {market_share}.",
    ],
    (WORLD, BUSINESS): [
        "{country} {world_verb} {biz_noun} as {oil} prices {biz_verb} {time}.",
        "{world_org} {said_verb} {world_noun} in {country} would hurt {biz_noun}.",
        "{country}'s {leader_title} {said_verb} {company} must pay {money} in back taxes.",
        "{world_noun} in {country} pushed {oil} prices {biz_verb_adv} {time}.",
        "{country} and {country} signed a {money} trade {shared_noun} {time}.",
    ],
    (SPORTS, BUSINESS): [
        "{team} were sold to {company} for {money}, {source} reported.",
        "{company} signed a {money} sponsorship {shared_noun} with {athlete}.",
        "Ticket {biz_noun} for {competition} {biz_verb} {pct} {time}.",
        "{athlete}'s {money} contract with {team} {said_verb2} {biz_group}.",
        "Broadcast rights for {competition} went to {company} for {money}.",
    ],
    (WORLD, SCITECH): [
        "{country} {tech_verb} a {science_noun} {time}, {world_org} {said_verb}.",
        "{world_org} {said_verb} {tech_group} in {country} {tech_event2}.",
        "{country}'s {nuclear} program worries {tech_group} and {world_org}.",
        "{tech_group} {said_verb} the {world_noun} in {country} was caused by {science_noun}.",
        "{country} will build a {tech_product} network with help from {techco}.",
    ],
    (WORLD, SPORTS): [
        "{country} {world_verb} the {competition} boycott {time}.",
        "Security for {competition} in {city} was tightened after {world_noun} threats.",
        "{athlete} {said_verb} the {world_noun} in {country} would not stop {competition}.",
    ],
}

EXTRA: Dict[str, Sequence[str]] = {
    "world_verb2": ["support", "oppose", "block", "delay", "respect", "monitor"],
    "world_event2": ["a bomb exploded in a crowded market", "a bus plunged into a ravine",
                     "troops opened fire on protesters", "a ferry capsized in a storm",
                     "a landslide buried a village", "clashes erupted between rival factions"],
    "sport_injury": ["ankle", "knee", "hamstring", "shoulder", "back", "groin", "wrist"],
    "sport_round": ["final", "semifinals", "quarterfinals", "second round", "third round"],
    "biz_event_inf": ["raise its dividend", "cut its forecast", "announce job cuts", "beat estimates",
                      "miss estimates", "report a loss", "sell its unit", "restate earnings"],
    "biz_deal": ["merger", "deal", "takeover", "buyout", "joint venture", "tie-up"],
    "word_update": ["update", "delayed", "again", "ahead", "soon", "report", "(updated)", "- report"],
    "oil": ["oil", "crude", "gas", "natural gas", "energy"],
    "biz_verb_adv": ["higher", "lower", "up", "down"],
    "market_share": ["market share", "new customers", "a bigger slice of the market"],
    "nuclear": ["nuclear", "missile", "space", "satellite"],
    "said_verb2": ["worried", "surprised", "pleased", "angered"],
}


def _numbers(rng: random.Random, slot: str) -> str:
    if slot == "num_small":
        return str(rng.randint(2, 19)) if rng.random() < 0.8 else rng.choice(
            ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "dozens of"])
    if slot == "num_big":
        n = rng.choice([rng.randint(20, 999), rng.randint(1000, 99999)])
        return f"{n:,}" if rng.random() < 0.7 else str(n)
    if slot == "pct":
        return rng.choice([f"{rng.randint(1, 40)} percent", f"{rng.randint(1, 40)}.{rng.randint(0, 9)}%",
                           f"{rng.randint(1, 9)}.{rng.randint(0, 99):02d} percent"])
    if slot == "money":
        unit = rng.choice(["million", "billion", "mln", "bln"])
        cur = rng.choice(["$", "$", "$", "€", "£", "US$", "¥"])
        amount = rng.choice([str(rng.randint(2, 900)), f"{rng.randint(1, 99)}.{rng.randint(1, 9)}"])
        return f"{cur}{amount} {unit}"
    if slot == "price":
        return f"${rng.randint(1, 300)}.{rng.randint(0, 99):02d}"
    if slot == "score":
        a, b = rng.randint(1, 45), rng.randint(0, 30)
        return rng.choice([f"{max(a, b)}-{min(a, b)}", f"{rng.randint(1, 6)}-{rng.randint(0, 3)}",
                           f"6-{rng.randint(0, 4)}, 7-6 ({rng.randint(1, 9)}), 6-{rng.randint(0, 4)}"])
    if slot == "year":
        return str(rng.randint(1990, 2005))
    raise KeyError(slot)


_SYLLABLES = ["ka", "lo", "vre", "mi", "zan", "dor", "tek", "bu", "shi", "ran", "qu", "el", "mo", "var",
              "ix", "na", "per", "tho", "gul", "fen", "ost", "ri", "yo", "zek", "wan", "dri", "hol", "pa"]


def rare_word(rng: random.Random) -> str:
    """A made-up proper name, almost always unique, so it stays out of the vocabulary."""
    word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))
    return word.capitalize()


_SLOT = re.compile(r"\{(\w+)\}")


def fill(template: str, rng: random.Random) -> str:
    def one(match: re.Match) -> str:
        slot = match.group(1)
        if slot == "rare":
            return rare_word(rng) + (" " + rare_word(rng) if rng.random() < 0.3 else "")
        if slot in ("num_small", "num_big", "pct", "money", "price", "score", "year"):
            return _numbers(rng, slot)
        base = slot[:-1] if slot[-1] == "2" and slot[:-1] in LEX else slot
        options = LEX.get(base) or EXTRA.get(slot)
        if options is None:
            raise KeyError(f"unknown slot {slot!r} in {template!r}")
        value = rng.choice(options)
        return fill(value, rng) if "{" in value else value

    return _SLOT.sub(one, template)


# ---------------------------------------------------------------------------------------------
# Surface noise


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0:  # swap
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == 1:  # drop
        return word[:i] + word[i + 1:]
    if kind == 2:  # double
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeiouqwrtsdn") + word[i + 1:]  # replace


def _noise(text: str, rng: random.Random) -> str:
    words = text.split(" ")
    out = []
    for w in words:
        if rng.random() < 0.025:
            w = _typo(w, rng)
        if rng.random() < 0.01:
            w = w.upper()
        out.append(w)
    return " ".join(out)


def _headline_case(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.06:
        return text.upper()
    if r < 0.45:
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    return text


def _sentence(label: int, rng: random.Random) -> str:
    s = fill(rng.choice(SENTENCES[label]), rng)
    return s[:1].upper() + s[1:]


def _join(parts: List[str], rng: random.Random) -> str:
    out = parts[0]
    for part in parts[1:]:
        r = rng.random()
        if r < 0.08:
            sep = " <br /> "
        elif r < 0.10:
            sep = "<br /><br />"
        elif r < 0.115:
            sep = " <BR /> "
        elif r < 0.12:
            sep = "\n"
        else:
            sep = " "
        out += sep + part
    return out


def make_text(label: int, rng: random.Random) -> str:
    """One news item whose content points at ``label`` (or, for bridges, at two labels)."""
    mode = rng.random()
    if mode < 0.13:
        pairs = [pair for pair in BRIDGES if label in pair]
        pair = rng.choice(pairs)
        body = [fill(rng.choice(BRIDGES[pair]), rng) for _ in range(rng.randint(1, 2))]
        headline = None
    else:
        content_label = label
        if mode > 0.975:  # label noise: the text is about something else
            content_label = rng.choice([c for c in range(4) if c != label])
        n = rng.choices([1, 2, 3, 4, 6, 8], weights=[34, 36, 20, 6, 3, 1])[0]
        body = [_sentence(content_label, rng) for _ in range(n)]
        if rng.random() < 0.3:  # a distractor sentence from another class
            other = rng.choice([c for c in range(4) if c != content_label])
            body.insert(rng.randint(1, len(body)), _sentence(other, rng))
        headline = fill(rng.choice(HEADLINES[content_label]), rng) if rng.random() < 0.6 else None
    text = _join(body, rng)
    if headline is not None:
        headline = _headline_case(headline, rng)
        text = f"{headline} ({fill('{source}', rng)}) " + text if rng.random() < 0.4 else f"{headline} - {text}"
    if rng.random() < 0.05:
        text = f"'{text}'" if rng.random() < 0.5 else f'"{text}"'
    if rng.random() < 0.05:
        text = text.rstrip(".") + rng.choice(["!", "?!", "...", "!!", " :)", ";"])
    return _noise(text, rng)


def generate_corpus(n_per_class: int = 5000, seed: int = DEFAULT_SEED) -> List[Example]:
    """``4 * n_per_class`` examples, balanced, in a seeded random order."""
    rng = random.Random(seed)
    labels = [label for label in range(4) for _ in range(n_per_class)]
    rng.shuffle(labels)
    return [Example(make_text(label, rng), label) for label in labels]


def make_splits(sizes: Dict[str, int] | None = None, seed: int = DEFAULT_SEED) -> Dict[str, List[Example]]:
    """Train / validation / test splits (default 16000 / 2000 / 2000), disjoint and deterministic."""
    sizes = dict(DEFAULT_SIZES if sizes is None else sizes)
    total = sum(sizes.values())
    if total % 4:
        raise ValueError("the total corpus size must be a multiple of 4 (balanced classes)")
    examples = generate_corpus(total // 4, seed)
    random.Random(seed + 1).shuffle(examples)
    splits: Dict[str, List[Example]] = {}
    start = 0
    for name, size in sizes.items():
        splits[name] = examples[start:start + size]
        start += size
    return splits


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print samples and statistics of the synthetic corpus.")
    parser.add_argument("--show", type=int, default=8)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    from .tokenizer import basic_english

    splits = make_splits(seed=args.seed)
    for name, examples in splits.items():
        lengths = [len(basic_english(e.text)) for e in examples]
        dist = Counter(e.label_name for e in examples)
        print(f"{name}: {len(examples)} examples, labels {dict(sorted(dist.items()))}, "
              f"mean tokens {sum(lengths) / len(lengths):.1f}, > 72 tokens {sum(n > 72 for n in lengths)}")
    for example in splits["train"][: args.show]:
        print(f"[{example.label_name}] {example.text!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
