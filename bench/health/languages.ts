// News-like sentences in German, French and Spanish for the drift bench's other-language stream: templates per topic
// with slots, filled from word lists. The models were trained on English only, so most of these words are unknown to
// them; names (cities, clubs, companies) stay in the source form, as in real foreign-language news.

/** The training labels, in manifest order. */
export const TOPICS = ['World', 'Sports', 'Business', 'Sci/Tech'] as const;
export type Topic = (typeof TOPICS)[number];

export const LANGUAGES = ['de', 'fr', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Slot fillers shared by every language: proper names, as foreign-language news writes them. */
const SHARED: Readonly<Record<string, readonly string[]>> = {
  city: [
    'Berlin',
    'Paris',
    'Madrid',
    'Brüssel',
    'Genf',
    'Lyon',
    'Sevilla',
    'Bogotá',
    'Lima',
    'Kairo',
    'Kiew',
  ],
  team: [
    'Bayern München',
    'Borussia Dortmund',
    'Olympique Lyon',
    'Paris Saint-Germain',
    'Real Madrid',
    'Atlético Madrid',
    'FC Barcelona',
    'Werder Bremen',
    'AS Monaco',
    'Valencia',
  ],
  company: [
    'Siemens',
    'Volkswagen',
    'Renault',
    'Telefónica',
    'Santander',
    'Danone',
    'Lufthansa',
    'Iberdrola',
  ],
  techco: ['SAP', 'Nokia', 'Alcatel', 'Ericsson', 'Indra', 'Infineon'],
};

interface LanguageLexicon {
  readonly templates: Readonly<Record<Topic, readonly string[]>>;
  readonly slots: Readonly<Record<string, readonly string[]>>;
}

const DE: LanguageLexicon = {
  templates: {
    World: [
      'Der {leader} von {country} hat {time} die {wnoun} scharf kritisiert.',
      'Bei einem Anschlag in {city} sind {time} mindestens {num} Menschen ums Leben gekommen.',
      'Die Verhandlungen über einen Waffenstillstand wurden {time} ohne Ergebnis abgebrochen.',
      'Tausende Demonstranten zogen {time} durch die Innenstadt von {city} und forderten Neuwahlen.',
      'Das Parlament in {city} stimmte {time} für die umstrittene Reform der Verfassung.',
    ],
    Sports: [
      '{team} gewann {time} mit {score} gegen {team} und führt nun die Tabelle an.',
      'Der Stürmer erzielte in der {num}. Minute das entscheidende Tor für {team}.',
      'Der Trainer von {team} wurde nach der dritten Niederlage in Folge entlassen.',
      'Im Finale setzte sich {team} nach Verlängerung gegen {team} durch.',
    ],
    Business: [
      'Die Aktie von {company} stieg {time} um {pct} Prozent, nachdem der Konzern seinen Gewinn gesteigert hatte.',
      '{company} kündigte {time} den Abbau von {big} Arbeitsplätzen an.',
      'Die Zentralbank ließ den Leitzins {time} unverändert, die Inflation bleibt hoch.',
      'Der Umsatz von {company} sank im dritten Quartal um {pct} Prozent.',
    ],
    'Sci/Tech': [
      'Forscher der Universität {city} haben ein neues Verfahren zur Speicherung von Sonnenstrom entwickelt.',
      '{techco} stellte {time} ein neues Betriebssystem für Mobiltelefone vor.',
      'Die Raumsonde sendete {time} erste Bilder von der Oberfläche des Mars zur Erde.',
      'Fachleute warnen vor einem neuen Computervirus, der sich per Mail verbreitet.',
    ],
  },
  slots: {
    leader: ['Präsident', 'Ministerpräsident', 'Außenminister', 'Bundeskanzler', 'Regierungschef'],
    country: ['Frankreich', 'Spanien', 'Russland', 'Ägypten', 'Kolumbien', 'Polen'],
    wnoun: ['Sanktionen', 'Wahlen', 'Grenzschließung', 'Militäroffensive', 'Flüchtlingspolitik'],
    time: ['am Montag', 'am Dienstag', 'am Mittwoch', 'am Freitag', 'gestern', 'heute', 'am Wochenende'],
  },
};

const FR: LanguageLexicon = {
  templates: {
    World: [
      'Le {leader} de {country} a vivement critiqué {time} les {wnoun} annoncées par ses voisins.',
      'Au moins {num} personnes ont été tuées {time} dans un attentat à {city}.',
      'Les négociations sur un cessez-le-feu ont été suspendues {time} sans accord.',
      'Des milliers de manifestants ont défilé {time} dans les rues de {city} pour réclamer des élections.',
      "L'Assemblée réunie à {city} a adopté {time} la réforme de la constitution.",
    ],
    Sports: [
      "{team} s'est imposé {time} {score} face à {team} et prend la tête du championnat.",
      "L'attaquant a marqué à la {num}e minute le but décisif pour {team}.",
      "L'entraîneur de {team} a été limogé après une troisième défaite consécutive.",
      'En finale, {team} a battu {team} après prolongation.',
    ],
    Business: [
      "L'action {company} a gagné {pct} % {time} après la hausse du bénéfice du groupe.",
      '{company} a annoncé {time} la suppression de {big} emplois.',
      "La banque centrale a maintenu {time} son taux directeur, l'inflation reste élevée.",
      "Le chiffre d'affaires de {company} a reculé de {pct} % au troisième trimestre.",
    ],
    'Sci/Tech': [
      "Des chercheurs de l'université de {city} ont mis au point un nouveau procédé de stockage de l'énergie solaire.",
      "{techco} a présenté {time} un nouveau système d'exploitation pour téléphones portables.",
      'La sonde spatiale a transmis {time} les premières images de la surface de Mars.',
      'Des experts mettent en garde contre un nouveau virus informatique qui se propage par courriel.',
    ],
  },
  slots: {
    leader: ['président', 'Premier ministre', 'ministre des Affaires étrangères', 'chef du gouvernement'],
    country: ["l'Allemagne", "l'Espagne", 'la Russie', "l'Égypte", 'la Colombie', 'la Pologne'],
    wnoun: ['sanctions', 'élections anticipées', 'fermetures de frontières', 'offensives militaires'],
    time: ['lundi', 'mardi', 'mercredi', 'vendredi', 'hier', "aujourd'hui", 'ce week-end'],
  },
};

const ES: LanguageLexicon = {
  templates: {
    World: [
      'El {leader} de {country} criticó duramente {time} las {wnoun} del gobierno vecino.',
      'Al menos {num} personas murieron {time} en un atentado en {city}.',
      'Las negociaciones para un alto el fuego se suspendieron {time} sin acuerdo.',
      'Miles de manifestantes recorrieron {time} las calles de {city} para exigir elecciones.',
      'El parlamento reunido en {city} aprobó {time} la reforma de la constitución.',
    ],
    Sports: [
      '{team} ganó {time} por {score} ante {team} y ya es líder de la liga.',
      'El delantero marcó en el minuto {num} el gol decisivo para {team}.',
      'El entrenador de {team} fue destituido tras la tercera derrota seguida.',
      'En la final, {team} venció a {team} en la prórroga.',
    ],
    Business: [
      'Las acciones de {company} subieron un {pct} % {time} tras el aumento del beneficio del grupo.',
      '{company} anunció {time} el despido de {big} trabajadores.',
      'El banco central mantuvo {time} los tipos de interés, la inflación sigue alta.',
      'La facturación de {company} cayó un {pct} % en el tercer trimestre.',
    ],
    'Sci/Tech': [
      'Investigadores de la universidad de {city} desarrollaron un nuevo método para almacenar energía solar.',
      '{techco} presentó {time} un nuevo sistema operativo para teléfonos móviles.',
      'La sonda espacial envió {time} las primeras imágenes de la superficie de Marte.',
      'Los expertos alertan de un nuevo virus informático que se propaga por correo electrónico.',
    ],
  },
  slots: {
    leader: ['presidente', 'primer ministro', 'ministro de Exteriores', 'jefe del gobierno'],
    country: ['Alemania', 'Francia', 'Rusia', 'Egipto', 'Colombia', 'Polonia'],
    wnoun: ['sanciones', 'elecciones anticipadas', 'ofensivas militares', 'políticas de asilo'],
    time: ['el lunes', 'el martes', 'el miércoles', 'el viernes', 'ayer', 'hoy', 'este fin de semana'],
  },
};

const LEXICONS: Readonly<Record<Language, LanguageLexicon>> = { de: DE, fr: FR, es: ES };

const pick = <T>(items: readonly T[], rng: () => number): T => items[Math.floor(rng() * items.length)] as T;

function fillSlot(slot: string, language: Language, rng: () => number): string {
  const int = (low: number, high: number) => low + Math.floor(rng() * (high - low + 1));
  switch (slot) {
    case 'num':
      return String(int(2, 89));
    case 'big':
      return String(int(2, 90) * 100);
    case 'pct':
      return language === 'de' ? `${int(1, 19)},${int(0, 9)}` : String(int(1, 19));
    case 'score':
      return `${int(0, 5)}:${int(0, 4)}`;
  }
  const words = LEXICONS[language].slots[slot] ?? SHARED[slot];
  if (words === undefined) throw new Error(`languages.ts: unknown slot {${slot}} (a template typo).`);
  return pick(words, rng);
}

/** One sentence about `topic` in `language`, its slots filled with `rng`. */
export function foreignSentence(language: Language, topic: Topic, rng: () => number): string {
  const template = pick(LEXICONS[language].templates[topic], rng);
  return template.replace(/\{(\w+)\}/g, (_, slot: string) => fillSlot(slot, language, rng));
}

/** Every distinct word the templates and word lists can produce (numbers left out), for the vocabulary test. */
export function foreignWords(language: Language): Set<string> {
  const lexicon = LEXICONS[language];
  const text = [
    ...Object.values(lexicon.templates).flat(),
    ...Object.values(lexicon.slots).flat(),
    ...Object.values(SHARED).flat(),
  ].join(' ');
  return new Set(
    text
      .replace(/\{\w+\}/g, ' ')
      .split(/[^\p{L}']+/u)
      .filter((w) => w !== ''),
  );
}
