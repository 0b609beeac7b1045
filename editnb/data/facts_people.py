"""Real-world facts about people (authored for editnb)."""
from .relations import Relation
from .templates import TEMPLATES

OCCUPATION = Relation(
    "occupation", "P106", *TEMPLATES["occupation"],
    """
Albert Einstein | physicist
Pablo Picasso | painter
William Shakespeare | playwright
Wolfgang Amadeus Mozart | composer
Ludwig van Beethoven | composer
Vincent van Gogh | painter
Charles Dickens | novelist
Jane Austen | novelist
Isaac Newton | physicist
Marie Curie | physicist
Charles Darwin | naturalist
Frida Kahlo | painter
Ernest Hemingway | novelist
Johann Sebastian Bach | composer
Frédéric Chopin | composer
Neil Armstrong | astronaut
Yuri Gagarin | cosmonaut
Tom Hanks | actor
Meryl Streep | actress
Steven Spielberg | film director
Alfred Hitchcock | film director
Nikola Tesla | inventor
Thomas Edison | inventor
Galileo Galilei | astronomer
Friedrich Nietzsche | philosopher
Immanuel Kant | philosopher
Claude Monet | painter
Rembrandt | painter
Elvis Presley | singer
Freddie Mercury | singer
Luciano Pavarotti | tenor
Coco Chanel | fashion designer
Agatha Christie | novelist
Leo Tolstoy | novelist
Sigmund Freud | psychoanalyst
Plato | philosopher
""",
)
BIRTHPLACE = Relation(
    "birthplace", "P19", *TEMPLATES["birthplace"],
    """
Albert Einstein | Ulm
Pablo Picasso | Málaga
Wolfgang Amadeus Mozart | Salzburg
Ludwig van Beethoven | Bonn
William Shakespeare | Stratford-upon-Avon
Marie Curie | Warsaw
Charles Dickens | Portsmouth
Johann Sebastian Bach | Eisenach
Cristiano Ronaldo | Funchal
Lionel Messi | Rosario
Steven Spielberg | Cincinnati
Alfred Hitchcock | London
Galileo Galilei | Pisa
Claude Monet | Paris
Rembrandt | Leiden
Elvis Presley | Tupelo
Luciano Pavarotti | Modena
Roger Federer | Basel
Muhammad Ali | Louisville
Agatha Christie | Torquay
Napoleon Bonaparte | Ajaccio
Karl Marx | Trier
Johann Wolfgang von Goethe | Frankfurt
Jorge Luis Borges | Buenos Aires
Barack Obama | Honolulu
Franz Kafka | Prague
Hans Christian Andersen | Odense
Salvador Dalí | Figueres
Dante Alighieri | Florence
Antonio Vivaldi | Venice
Richard Wagner | Leipzig
Steve Jobs | San Francisco
Bill Gates | Seattle
Mahatma Gandhi | Porbandar
Johannes Gutenberg | Mainz
Ernest Hemingway | Oak Park
""", portability=("{} was born in the country of", "city_country"),
)
CITIZENSHIP = Relation(
    "citizenship", "P27", *TEMPLATES["citizenship"],
    """
Pablo Picasso | Spain
Frida Kahlo | Mexico
Ernest Hemingway | United States
Lionel Messi | Argentina
Cristiano Ronaldo | Portugal
Usain Bolt | Jamaica
Tom Hanks | United States
Luciano Pavarotti | Italy
Roger Federer | Switzerland
Coco Chanel | France
Agatha Christie | United Kingdom
Salvador Dalí | Spain
Jorge Luis Borges | Argentina
Gabriel García Márquez | Colombia
Mahatma Gandhi | India
Barack Obama | United States
Leo Tolstoy | Russia
Hans Christian Andersen | Denmark
Claude Monet | France
Vincent van Gogh | Netherlands
Frédéric Chopin | Poland
Serena Williams | United States
Michael Jordan | United States
Shakira | Colombia
Björk | Iceland
Rafael Nadal | Spain
Novak Djokovic | Serbia
Zlatan Ibrahimović | Sweden
Roald Amundsen | Norway
Haruki Murakami | Japan
Akira Kurosawa | Japan
Pelé | Brazil
Diego Maradona | Argentina
Nelson Mandela | South Africa
Jacinda Ardern | New Zealand
""", portability=("{} is a citizen of a country on the continent of", "country_continent"),
)
INSTRUMENT = Relation(
    "instrument", "P1303", *TEMPLATES["instrument"],
    """
Jimi Hendrix | guitar
Eric Clapton | guitar
B. B. King | guitar
Miles Davis | trumpet
Louis Armstrong | trumpet
John Coltrane | saxophone
Charlie Parker | saxophone
Yo-Yo Ma | cello
Itzhak Perlman | violin
Niccolò Paganini | violin
Lang Lang | piano
Glenn Gould | piano
Vladimir Horowitz | piano
Ringo Starr | drums
Keith Moon | drums
Jaco Pastorius | bass
Ravi Shankar | sitar
Andrés Segovia | guitar
Yehudi Menuhin | violin
Dizzy Gillespie | trumpet
Jacqueline du Pré | cello
Buddy Rich | drums
Stan Getz | saxophone
Pablo Casals | cello
Larry Adler | harmonica
""",
)
SPORT = Relation(
    "sport", "P641", *TEMPLATES["sport"],
    """
Michael Jordan | basketball
LeBron James | basketball
Kobe Bryant | basketball
Serena Williams | tennis
Roger Federer | tennis
Rafael Nadal | tennis
Novak Djokovic | tennis
Lionel Messi | football
Cristiano Ronaldo | football
Pelé | football
Tiger Woods | golf
Jack Nicklaus | golf
Michael Phelps | swimming
Wayne Gretzky | ice hockey
Babe Ruth | baseball
Muhammad Ali | boxing
Mike Tyson | boxing
Lewis Hamilton | Formula One
Michael Schumacher | Formula One
Simone Biles | gymnastics
Sachin Tendulkar | cricket
Don Bradman | cricket
Magnus Carlsen | chess
Garry Kasparov | chess
Eddy Merckx | cycling
Usain Bolt | sprinting
""",
)

PEOPLE_RELATIONS = (OCCUPATION, BIRTHPLACE, CITIZENSHIP, INSTRUMENT, SPORT)
