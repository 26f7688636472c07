/**
 * The 50 artists of the public "best artworks of all time" data set, with the metadata columns of
 * its artists.csv. Rows 0-10 are the rows the metadata study shows; the others are written from
 * public biographical facts. `fullCount` is the number of paintings generated per artist at the
 * full size, shaped like the real set's counts (van Gogh by far the largest) and summing to its
 * 8,355 resized images.
 */
export interface ArtistRecord {
  id: number;
  name: string;
  years: string;
  genre: string;
  nationality: string;
  bio: string;
  wikipedia: string;
  fullCount: number;
}

type Row = [string, string, string, string, string, number, string?];

const WIKI = 'http://en.wikipedia.org/wiki/';

const ROWS: Row[] = [
  [
    'Amedeo Modigliani',
    '1884 - 1920',
    'Expressionism',
    'Italian',
    'Amedeo Clemente Modigliani (Italian pronunciation: [amedeo mɔdiljaːni]; 12 September 1884 – 24 January 1920) was an Italian painter and sculptor who lived most of his life in France. He painted portraits, figures, and nudes, and made sculptures and drawings. His style was influenced by Cubism and Fauvism.',
    193,
  ],
  [
    'Vasily Kandinsky',
    '1866 - 1944',
    'Expressionism, Abstractionism',
    'Russian',
    'Vassily Wassilyevich Kandinsky (Russian: Васи́лий Васи́льевич Кандинский; 4 December 1863 – 13 December 1944) was a Russian painter and art theorist. He is regarded as one of the most important figures in modern art.',
    88,
    'Vassily_Kandinsky',
  ],
  [
    'Diego Rivera',
    '1886 - 1957',
    'Social Realism, Muralism',
    'Mexican',
    'Diego María de la Concepción Juan Nepomuceno Estanislao de la Rivera y Barrientos Acosta y Rodríguez (February 8, 1886 – November 24, 1957) was a Mexican painter, known for his political murals.',
    70,
  ],
  [
    'Claude Monet',
    '1840 - 1926',
    'Impressionism',
    'French',
    'Oscar-Claude Monet (French: [klod mɔnɛ]; 14 November 1840 – 5 December 1926) was a French painter. He is best known for his series of landscapes, particularly those of the River Seine at Giverny.',
    73,
  ],
  [
    'Rene Magritte',
    '1898 - 1967',
    'Surrealism, Impressionism',
    'Belgian',
    'René François Ghislain Magritte (French: [ʁəne mɑɡʁit]; 21 November 1898 – 15 August 1967) was a Belgian surrealist painter.',
    194,
    'René_Magritte',
  ],
  [
    'Salvador Dali',
    '1904 - 1989',
    'Surrealism',
    'Spanish',
    'Salvador Domingo Felipe Jacinto Dalí i Domènech (1904–1989) was a Spanish surrealist painter.',
    139,
    'Salvador_Dalí',
  ],
  [
    'Edouard Manet',
    '1832 - 1883',
    'Realism, Impressionism',
    'French',
    'Édouard Manet (US: ; UK: ; French: [edwaʁ mañɛ]) (1832–1883) was a French painter.',
    90,
    'Édouard_Manet',
  ],
  [
    'Andrei Rublev',
    '1360 - 1430',
    'Byzantine Art',
    'Russian',
    'Andrei Rublev (Russian: Андрей Рублёв, IPA: [ɐndrʲej rʊbl̑əf]) (c. 1360 – c. 1430) was a Russian icon painter.',
    99,
  ],
  [
    'Vincent van Gogh',
    '1853 – 1890',
    'Post-Impressionism',
    'Dutch',
    'Vincent Willem van Gogh (Dutch: [vɪnseːnt ˈvɑŋ ɣɔx]; 30 March 1853 – 29 July 1890) was a Dutch post-impressionist painter.',
    877,
  ],
  [
    'Gustav Klimt',
    '1862 - 1918',
    'Symbolism, Art Nouveau',
    'Austrian',
    'Gustav Klimt (July 14, 1862 – February 6, 1918) was an Austrian symbolist painter.',
    117,
  ],
  [
    'Hieronymus Bosch',
    '1450 - 1516',
    'Northern Renaissance',
    'Dutch',
    'Hieronymus Bosch ((listen); Dutch: [hijeːrɔmʏs ˈbɔs]) (c. 1450 – 9 August 1516) was a Dutch Northern Renaissance painter.',
    137,
  ],
  [
    'Kazimir Malevich',
    '1879 - 1935',
    'Suprematism',
    'Russian',
    'Kazimir Severinovich Malevich (1879 – 1935) was a Russian avant-garde painter and theorist, the founder of Suprematism, known for "Black Square" (1915).',
    126,
  ],
  [
    'Mikhail Vrubel',
    '1856 - 1910',
    'Symbolism',
    'Russian',
    'Mikhail Alexandrovich Vrubel (1856 – 1910) was a Russian painter, draughtsman and sculptor, usually counted among the Symbolists; his "Demon" paintings are his best known.',
    171,
  ],
  [
    'Pablo Picasso',
    '1881 - 1973',
    'Cubism',
    'Spanish',
    'Pablo Ruiz Picasso (25 October 1881 – 8 April 1973) was a Spanish painter, sculptor, printmaker, ceramicist and stage designer who spent most of his adult life in France. He co-founded Cubism with Georges Braque.',
    439,
  ],
  [
    'Peter Paul Rubens',
    '1577 - 1640',
    'Baroque',
    'Flemish',
    'Sir Peter Paul Rubens (1577 – 1640) was a Flemish artist, the most influential painter of the Flemish Baroque, known for altarpieces, portraits, landscapes and mythological scenes.',
    141,
  ],
  [
    'Pierre-Auguste Renoir',
    '1841 - 1919',
    'Impressionism',
    'French',
    'Pierre-Auguste Renoir (25 February 1841 – 3 December 1919) was a French artist and a leading painter of Impressionism, celebrating beauty, light and, above all, sensual feminine form.',
    336,
  ],
  [
    'Francisco Goya',
    '1746 - 1828',
    'Romanticism',
    'Spanish',
    'Francisco José de Goya y Lucientes (1746 – 1828) was a Spanish romantic painter and printmaker, court painter to the Spanish Crown; his late "Black Paintings" are among his best known works.',
    291,
  ],
  [
    'Frida Kahlo',
    '1907 - 1954',
    'Primitivism, Surrealism',
    'Mexican',
    'Magdalena Carmen Frida Kahlo y Calderón (6 July 1907 – 13 July 1954) was a Mexican painter known for her self-portraits, many of them inspired by the nature and artifacts of Mexico.',
    120,
  ],
  [
    'El Greco',
    '1541 - 1614',
    'Mannerism',
    'Spanish,Greek',
    'Doménikos Theotokópoulos (1541 – 1614), known as El Greco ("The Greek"), was a painter, sculptor and architect of the Spanish Renaissance, known for elongated figures and fantastic, phantasmagorical colour.',
    87,
  ],
  [
    'Albrecht Dürer',
    '1471 - 1528',
    'Northern Renaissance',
    'German',
    'Albrecht Dürer (21 May 1471 – 6 April 1528) was a painter, printmaker and theorist of the German Renaissance, famous for his woodcuts, engravings and watercolours.',
    328,
  ],
  [
    'Alfred Sisley',
    '1839 - 1899',
    'Impressionism',
    'French,British',
    'Alfred Sisley (1839 – 1899) was an Impressionist landscape painter, born and mostly living in France but with British citizenship, who painted en plein air more consistently than his peers.',
    259,
  ],
  [
    'Pieter Bruegel',
    '1525 - 1569',
    'Northern Renaissance',
    'Flemish',
    'Pieter Bruegel the Elder (c. 1525 – 1569) was the most significant artist of Dutch and Flemish Renaissance painting, known for landscapes and peasant scenes, so-called "genre painting".',
    134,
  ],
  [
    'Marc Chagall',
    '1887 - 1985',
    'Primitivism',
    'French,Jewish,Belarusian',
    'Marc Chagall (1887 – 1985) was a Russian-French artist of Belarusian Jewish origin, an early modernist who worked in painting, book illustration, stained glass, stage sets, ceramics and tapestries.',
    239,
  ],
  [
    'Giotto di Bondone',
    '1267 - 1337',
    'Proto Renaissance',
    'Italian',
    'Giotto di Bondone (c. 1267 – 1337) was an Italian painter and architect from Florence; his frescoes in the Scrovegni Chapel, Padua, broke with the flat Byzantine manner.',
    119,
  ],
  [
    'Sandro Botticelli',
    '1445 - 1510',
    'Early Renaissance',
    'Italian',
    'Alessandro di Mariano di Vanni Filipepi (c. 1445 – 1510), known as Sandro Botticelli, was an Italian painter of the Early Renaissance, known for "The Birth of Venus" and "Primavera".',
    164,
  ],
  [
    'Caravaggio',
    '1571 - 1610',
    'Baroque',
    'Italian',
    'Michelangelo Merisi da Caravaggio (1571 – 1610) was an Italian painter whose dramatic use of light and shadow, called chiaroscuro, deeply influenced Baroque painting.',
    55,
  ],
  [
    'Leonardo da Vinci',
    '1452 - 1519',
    'High Renaissance',
    'Italian',
    'Leonardo di ser Piero da Vinci (1452 – 1519) was an Italian polymath of the Renaissance, painter of the "Mona Lisa" and "The Last Supper", engineer, scientist and draughtsman.',
    143,
  ],
  [
    'Diego Velazquez',
    '1599 - 1660',
    'Baroque',
    'Spanish',
    'Diego Rodríguez de Silva y Velázquez (1599 – 1660) was a Spanish painter, the leading artist in the court of King Philip IV, and the painter of "Las Meninas".',
    128,
  ],
  [
    'Henri Matisse',
    '1869 - 1954',
    'Impressionism, Post-Impressionism',
    'French',
    'Henri Émile Benoît Matisse (1869 – 1954) was a French artist, known for his use of colour and his fluid, original draughtsmanship; with Picasso, one of the artists who defined modern art.',
    186,
  ],
  [
    'Jan van Eyck',
    '1390 - 1441',
    'Northern Renaissance',
    'Flemish',
    'Jan van Eyck (before c. 1390 – 1441) was a Flemish painter active in Bruges, one of the founders of Early Netherlandish painting, known for the "Ghent Altarpiece" and the "Arnolfini Portrait".',
    81,
  ],
  [
    'Edgar Degas',
    '1834 - 1917',
    'Impressionism',
    'French',
    'Edgar Degas (1834 – 1917) was a French artist famous for his paintings, sculptures, prints and drawings; he is especially identified with the subject of dance, and more than half of his works depict dancers.',
    702,
  ],
  [
    'Rembrandt',
    '1606 - 1669',
    'Baroque',
    'Dutch',
    'Rembrandt Harmenszoon van Rijn (1606 – 1669) was a Dutch draughtsman, painter and printmaker, one of the greatest visual artists in history, known for "The Night Watch".',
    262,
  ],
  [
    'Titian',
    '1488 - 1576',
    'High Renaissance, Mannerism',
    'Italian',
    'Tiziano Vecellio (c. 1488 – 1576), known in English as Titian, was the most important member of the 16th-century Venetian school, admired for his use of colour.',
    255,
  ],
  [
    'Henri de Toulouse-Lautrec',
    '1864 - 1901',
    'Post-Impressionism',
    'French',
    'Henri Marie Raymond de Toulouse-Lautrec-Monfa (1864 – 1901) was a French painter, printmaker and illustrator whose posters and paintings show the theatrical life of Paris, such as the "Moulin Rouge".',
    81,
  ],
  [
    'Gustave Courbet',
    '1819 - 1877',
    'Realism',
    'French',
    'Jean Désiré Gustave Courbet (1819 – 1877) was a French painter who led the Realism movement in 19th-century French painting, rejecting academic convention.',
    59,
  ],
  [
    'Camille Pissarro',
    '1830 - 1903',
    'Impressionism, Post-Impressionism',
    'French',
    'Camille Pissarro (1830 – 1903) was a Danish-French Impressionist and Neo-Impressionist painter born on the island of St Thomas, a "father figure" to Cézanne and Gauguin.',
    91,
  ],
  [
    'William Turner',
    '1775 - 1851',
    'Romanticism',
    'British',
    'Joseph Mallord William Turner (1775 – 1851) was an English Romantic painter, printmaker and watercolourist, known for expressive colouring, imaginative landscapes and turbulent, often violent marine paintings.',
    66,
    'J._M._W._Turner',
  ],
  [
    'Edvard Munch',
    '1863 - 1944',
    'Symbolism, Expressionism',
    'Norwegian',
    'Edvard Munch (1863 – 1944) was a Norwegian painter whose best known work, "The Scream", has become one of the iconic images of world art.',
    67,
  ],
  [
    'Paul Cezanne',
    '1839 - 1906',
    'Post-Impressionism',
    'French',
    'Paul Cézanne (1839 – 1906) was a French artist and Post-Impressionist painter whose work laid the foundations of the transition from 19th-century art to Cubism.',
    47,
    'Paul_Cézanne',
  ],
  [
    'Eugene Delacroix',
    '1798 - 1863',
    'Romanticism',
    'French',
    'Ferdinand Victor Eugène Delacroix (1798 – 1863) was a French Romantic artist, regarded from the outset of his career as the leader of the French Romantic school; he painted "Liberty Leading the People".',
    31,
    'Eugène_Delacroix',
  ],
  [
    'Henri Rousseau',
    '1844 - 1910',
    'Primitivism',
    'French',
    'Henri Julien Félix Rousseau (1844 – 1910) was a French Post-Impressionist painter in the Naïve or Primitive manner, known as "Le Douanier" (the customs officer) after his job.',
    70,
  ],
  [
    'Georges Seurat',
    '1859 - 1891',
    'Post-Impressionism',
    'French',
    'Georges-Pierre Seurat (1859 – 1891) was a French post-impressionist painter, best known for devising the painting techniques known as chromoluminarism and pointillism, as in "A Sunday Afternoon on the Island of La Grande Jatte".',
    43,
  ],
  [
    'Paul Klee',
    '1879 - 1940',
    'Expressionism, Abstractionism, Surrealism',
    'German,Swiss',
    'Paul Klee (1879 – 1940) was a Swiss-born German artist influenced by Expressionism, Cubism and Surrealism; he taught at the Bauhaus with Kandinsky.',
    188,
  ],
  [
    'Piet Mondrian',
    '1872 - 1944',
    'Neoplasticism',
    'Dutch',
    'Pieter Cornelis Mondriaan (1872 – 1944) was a Dutch painter, one of the pioneers of 20th-century abstract art, who reduced painting to a grid of black lines and the three primary colours.',
    84,
  ],
  [
    'Joan Miro',
    '1893 - 1983',
    'Surrealism',
    'Spanish',
    'Joan Miró i Ferrà (1893 – 1983) was a Spanish painter, sculptor and ceramicist born in Barcelona, whose work has been interpreted as Surrealism, a sandbox for the subconscious mind.',
    102,
    'Joan_Miró',
  ],
  [
    'Andy Warhol',
    '1928 - 1987',
    'Pop Art',
    'American',
    'Andy Warhol (1928 – 1987) was an American artist, director and producer, a leading figure of pop art, known for "Campbell\'s Soup Cans" and his silkscreen portraits.',
    181,
  ],
  [
    'Paul Gauguin',
    '1848 - 1903',
    'Symbolism, Post-Impressionism',
    'French',
    'Eugène Henri Paul Gauguin (1848 – 1903) was a French Post-Impressionist artist, known for his experimental use of colour and Synthetist style; he spent his last years in French Polynesia.',
    311,
  ],
  [
    'Raphael',
    '1483 - 1520',
    'High Renaissance',
    'Italian',
    'Raffaello Sanzio da Urbino (1483 – 1520), known as Raphael, was an Italian painter and architect of the High Renaissance, admired for clarity of form and ease of composition, as in "The School of Athens".',
    109,
  ],
  [
    'Michelangelo',
    '1475 - 1564',
    'High Renaissance',
    'Italian',
    'Michelangelo di Lodovico Buonarroti Simoni (1475 – 1564) was an Italian sculptor, painter, architect and poet of the High Renaissance, who painted the ceiling of the Sistine Chapel.',
    49,
  ],
  [
    'Jackson Pollock',
    '1912 - 1956',
    'Abstract Expressionism',
    'American',
    'Paul Jackson Pollock (1912 – 1956) was an American painter and a major figure in the abstract expressionist movement, known for his "drip" technique of pouring paint onto a canvas laid on the floor.',
    24,
  ],
];

const FULL_TOTAL = 8355;

/** Largest-remainder scaling of counts to an exact total, never below `min` per artist. */
export function scaleCounts(counts: readonly number[], total: number, min: number): number[] {
  const sum = counts.reduce((s, c) => s + c, 0);
  const exact = counts.map((c) => Math.max(min, (c * total) / sum));
  const out = exact.map((e) => Math.floor(e));
  let left = total - out.reduce((s, c) => s + c, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (let k = 0; left > 0 && k < order.length; k++, left--) {
    const i = (order[k] as readonly [number, number])[1];
    out[i] = (out[i] as number) + 1;
  }
  return out;
}

const FULL_COUNTS = scaleCounts(
  ROWS.map((r) => r[5]),
  FULL_TOTAL,
  1,
);

export const ARTISTS: readonly ArtistRecord[] = ROWS.map((r, id) => ({
  id,
  name: r[0],
  years: r[1],
  genre: r[2],
  nationality: r[3],
  bio: r[4],
  wikipedia: WIKI + (r[6] ?? r[0].replace(/ /g, '_')),
  fullCount: FULL_COUNTS[id] as number,
}));

/** `Albrecht Dürer` -> `Albrecht_Dürer` (NFC), the file-name stem of the public data set. */
export function artistFileStem(name: string): string {
  return name.normalize('NFC').replace(/ /g, '_');
}

/** The artists' genres, split from the comma-separated column. */
export function genresOf(a: ArtistRecord): string[] {
  return a.genre.split(',').map((g) => g.trim());
}
