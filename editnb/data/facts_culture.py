"""Real-world facts about companies, works, science and culture (authored for editnb)."""
from .relations import Relation
from .templates import TEMPLATES

COMPANY_FOUNDER = Relation(
    "company_founder", "P112", *TEMPLATES["company_founder"],
    """
Microsoft | Bill Gates
Apple | Steve Jobs
Amazon | Jeff Bezos
Facebook | Mark Zuckerberg
SpaceX | Elon Musk
Google | Larry Page
Oracle | Larry Ellison
Dell | Michael Dell
Ford Motor Company | Henry Ford
The Walt Disney Company | Walt Disney
Nike | Phil Knight
Alibaba | Jack Ma
Honda | Soichiro Honda
IKEA | Ingvar Kamprad
Netflix | Reed Hastings
Twitter | Jack Dorsey
Nvidia | Jensen Huang
Virgin Group | Richard Branson
Adidas | Adolf Dassler
Porsche | Ferdinand Porsche
Ferrari | Enzo Ferrari
Wikipedia | Jimmy Wales
Boeing | William Boeing
Lamborghini | Ferruccio Lamborghini
LinkedIn | Reid Hoffman
""",
)
COMPANY_HQ = Relation(
    "company_headquarters", "P159", *TEMPLATES["company_headquarters"],
    """
Microsoft | Redmond
Apple | Cupertino
Amazon | Seattle
Google | Mountain View
Intel | Santa Clara
Nvidia | Santa Clara
Sony | Tokyo
Nestlé | Vevey
Volkswagen | Wolfsburg
BMW | Munich
Siemens | Munich
Ferrari | Maranello
Nokia | Espoo
Spotify | Stockholm
Heineken | Amsterdam
Lego | Billund
Coca-Cola | Atlanta
Starbucks | Seattle
Alibaba | Hangzhou
Tencent | Shenzhen
Huawei | Shenzhen
Nintendo | Kyoto
Ericsson | Stockholm
Volvo | Gothenburg
Fiat | Turin
Porsche | Stuttgart
Mercedes-Benz | Stuttgart
Rolex | Geneva
Novartis | Basel
General Motors | Detroit
""", portability=("The headquarters of {} are in the country of", "city_country"),
)
CAR_COUNTRY = Relation(
    "car_brand_country", "P495", *TEMPLATES["car_brand_country"],
    """
Toyota | Japan
Nissan | Japan
BMW | Germany
Volkswagen | Germany
Audi | Germany
Mercedes-Benz | Germany
Fiat | Italy
Maserati | Italy
Saab | Sweden
Renault | France
Peugeot | France
Citroën | France
Chevrolet | United States
Tesla | United States
Hyundai | South Korea
Kia | South Korea
Škoda | Czech Republic
Jaguar | United Kingdom
Aston Martin | United Kingdom
Rolls-Royce | United Kingdom
SEAT | Spain
Tata Motors | India
Lada | Russia
""", portability=("The car brand {} comes from a country on the continent of", "country_continent"),
)
DISH_COUNTRY = Relation(
    "dish_country", "P495", *TEMPLATES["dish_country"],
    """
pizza | Italy
sushi | Japan
paella | Spain
kimchi | South Korea
tacos | Mexico
goulash | Hungary
pad thai | Thailand
pho | Vietnam
feijoada | Brazil
moussaka | Greece
poutine | Canada
ceviche | Peru
pierogi | Poland
fondue | Switzerland
Wiener schnitzel | Austria
haggis | United Kingdom
tempura | Japan
risotto | Italy
tagine | Morocco
borscht | Ukraine
""", portability=("The dish {} comes from a country on the continent of", "country_continent"),
)
BOOK_AUTHOR = Relation(
    "book_author", "P50", *TEMPLATES["book_author"],
    """
Pride and Prejudice | Jane Austen
War and Peace | Leo Tolstoy
Nineteen Eighty-Four | George Orwell
Don Quixote | Miguel de Cervantes
The Great Gatsby | F. Scott Fitzgerald
Moby-Dick | Herman Melville
Crime and Punishment | Fyodor Dostoevsky
The Old Man and the Sea | Ernest Hemingway
The Hobbit | J. R. R. Tolkien
One Hundred Years of Solitude | Gabriel García Márquez
Les Misérables | Victor Hugo
Madame Bovary | Gustave Flaubert
Ulysses | James Joyce
The Trial | Franz Kafka
Oliver Twist | Charles Dickens
Adventures of Huckleberry Finn | Mark Twain
To Kill a Mockingbird | Harper Lee
Frankenstein | Mary Shelley
Dracula | Bram Stoker
Anna Karenina | Leo Tolstoy
Murder on the Orient Express | Agatha Christie
The Catcher in the Rye | J. D. Salinger
Animal Farm | George Orwell
Brave New World | Aldous Huxley
The Little Prince | Antoine de Saint-Exupéry
Norwegian Wood | Haruki Murakami
""",
)
PAINTING_PAINTER = Relation(
    "painting_painter", "P170", *TEMPLATES["painting_painter"],
    """
Mona Lisa | Leonardo da Vinci
The Starry Night | Vincent van Gogh
The Last Supper | Leonardo da Vinci
Guernica | Pablo Picasso
The Scream | Edvard Munch
The Night Watch | Rembrandt
Girl with a Pearl Earring | Johannes Vermeer
The Persistence of Memory | Salvador Dalí
The Birth of Venus | Sandro Botticelli
Water Lilies | Claude Monet
The Kiss | Gustav Klimt
American Gothic | Grant Wood
The School of Athens | Raphael
Las Meninas | Diego Velázquez
The Garden of Earthly Delights | Hieronymus Bosch
Liberty Leading the People | Eugène Delacroix
Sunflowers | Vincent van Gogh
Impression, Sunrise | Claude Monet
The Great Wave off Kanagawa | Hokusai
Nighthawks | Edward Hopper
The Son of Man | René Magritte
""",
)
FILM_DIRECTOR = Relation(
    "film_director", "P57", *TEMPLATES["film_director"],
    """
Jaws | Steven Spielberg
Psycho | Alfred Hitchcock
The Godfather | Francis Ford Coppola
Pulp Fiction | Quentin Tarantino
Titanic | James Cameron
Inception | Christopher Nolan
Star Wars | George Lucas
2001: A Space Odyssey | Stanley Kubrick
The Shining | Stanley Kubrick
Schindler's List | Steven Spielberg
Seven Samurai | Akira Kurosawa
Citizen Kane | Orson Welles
Taxi Driver | Martin Scorsese
Spirited Away | Hayao Miyazaki
Alien | Ridley Scott
Gladiator | Ridley Scott
The Dark Knight | Christopher Nolan
Jurassic Park | Steven Spielberg
Parasite | Bong Joon-ho
Vertigo | Alfred Hitchcock
Apocalypse Now | Francis Ford Coppola
Avatar | James Cameron
""",
)
SOFTWARE_CREATOR = Relation(
    "software_creator", "P178", *TEMPLATES["software_creator"],
    """
Python programming language | Guido van Rossum
C++ programming language | Bjarne Stroustrup
Java programming language | James Gosling
Linux kernel | Linus Torvalds
JavaScript programming language | Brendan Eich
Ruby programming language | Yukihiro Matsumoto
Perl programming language | Larry Wall
PHP programming language | Rasmus Lerdorf
Pascal programming language | Niklaus Wirth
Lisp programming language | John McCarthy
Swift programming language | Chris Lattner
Rust programming language | Graydon Hoare
Scala programming language | Martin Odersky
C# programming language | Anders Hejlsberg
Erlang programming language | Joe Armstrong
World Wide Web | Tim Berners-Lee
Fortran programming language | John Backus
Git version control system | Linus Torvalds
""",
)
ELEMENT_SYMBOL = Relation(
    "element_symbol", "P246", *TEMPLATES["element_symbol"],
    """
gold | Au
silver | Ag
iron | Fe
copper | Cu
lead | Pb
sodium | Na
potassium | K
mercury | Hg
tin | Sn
calcium | Ca
zinc | Zn
uranium | U
chlorine | Cl
neon | Ne
magnesium | Mg
aluminium | Al
silicon | Si
tungsten | W
platinum | Pt
nitrogen | N
""",
)
LANGUAGE_SCRIPT = Relation(
    "language_script", "P282", *TEMPLATES["language_script"],
    """
Russian | Cyrillic
Greek | Greek
Arabic | Arabic
Hebrew | Hebrew
Hindi | Devanagari
Korean | Hangul
Thai | Thai
Georgian | Georgian
Armenian | Armenian
English | Latin
French | Latin
Ukrainian | Cyrillic
Bulgarian | Cyrillic
Persian | Arabic
Urdu | Arabic
Nepali | Devanagari
Mongolian | Cyrillic
Bengali | Bengali
Amharic | Ge'ez
Vietnamese | Latin
Turkish | Latin
Polish | Latin
German | Latin
Spanish | Latin
Italian | Latin
Portuguese | Latin
Serbian | Cyrillic
Swedish | Latin
Yiddish | Hebrew
Japanese | kanji
Chinese | Chinese characters
""",
)
ANIMAL_CLASS = Relation(
    "animal_class", "P279", *TEMPLATES["animal_class"],
    """
dolphin | mammal
whale | mammal
bat | mammal
platypus | mammal
kangaroo | mammal
penguin | bird
ostrich | bird
eagle | bird
owl | bird
shark | fish
salmon | fish
tuna | fish
frog | amphibian
salamander | amphibian
newt | amphibian
crocodile | reptile
snake | reptile
turtle | reptile
lizard | reptile
spider | arachnid
scorpion | arachnid
bee | insect
ant | insect
butterfly | insect
crab | crustacean
lobster | crustacean
""",
)
BAND_COUNTRY = Relation(
    "band_country", "P495", *TEMPLATES["band_country"],
    """
The Beatles | United Kingdom
ABBA | Sweden
U2 | Ireland
Queen | United Kingdom
Metallica | United States
Rammstein | Germany
BTS | South Korea
AC/DC | Australia
Nirvana | United States
Daft Punk | France
Coldplay | United Kingdom
Kraftwerk | Germany
Scorpions | Germany
Måneskin | Italy
Radiohead | United Kingdom
Sigur Rós | Iceland
Nightwish | Finland
a-ha | Norway
Roxette | Sweden
The Cranberries | Ireland
Arcade Fire | Canada
INXS | Australia
""", portability=("The band {} comes from a country on the continent of", "country_continent"),
)

CULTURE_RELATIONS = (
    COMPANY_FOUNDER, COMPANY_HQ, CAR_COUNTRY, DISH_COUNTRY, BOOK_AUTHOR, PAINTING_PAINTER,
    FILM_DIRECTOR, SOFTWARE_CREATOR, ELEMENT_SYMBOL, LANGUAGE_SCRIPT, ANIMAL_CLASS, BAND_COUNTRY,
)
