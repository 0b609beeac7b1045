"""Real-world facts about countries, cities, landmarks and places (authored for editnb)."""
from .relations import Relation

# country | capital | official language | currency | continent  ("-" where no single answer is fair)
COUNTRIES = """
France | Paris | French | euro | Europe
Germany | Berlin | German | euro | Europe
Italy | Rome | Italian | euro | Europe
Spain | Madrid | Spanish | euro | Europe
Portugal | Lisbon | Portuguese | euro | Europe
Netherlands | Amsterdam | Dutch | euro | Europe
Greece | Athens | Greek | euro | Europe
Poland | Warsaw | Polish | zloty | Europe
Sweden | Stockholm | Swedish | krona | Europe
Norway | Oslo | Norwegian | krone | Europe
Denmark | Copenhagen | Danish | krone | Europe
Finland | Helsinki | Finnish | euro | Europe
Hungary | Budapest | Hungarian | forint | Europe
Czech Republic | Prague | Czech | koruna | Europe
Austria | Vienna | German | euro | Europe
Romania | Bucharest | Romanian | leu | Europe
Serbia | Belgrade | Serbian | dinar | Europe
Iceland | Reykjavik | Icelandic | krona | Europe
Ukraine | Kyiv | Ukrainian | hryvnia | Europe
United Kingdom | London | English | pound | Europe
Croatia | Zagreb | Croatian | euro | Europe
Russia | Moscow | Russian | ruble | -
Turkey | Ankara | Turkish | lira | -
Japan | Tokyo | Japanese | yen | Asia
China | Beijing | Chinese | yuan | Asia
South Korea | Seoul | Korean | won | Asia
Thailand | Bangkok | Thai | baht | Asia
Vietnam | Hanoi | Vietnamese | dong | Asia
Indonesia | Jakarta | Indonesian | rupiah | Asia
Iran | Tehran | Persian | rial | Asia
Saudi Arabia | Riyadh | Arabic | riyal | Asia
Pakistan | Islamabad | Urdu | rupee | Asia
Bangladesh | Dhaka | Bengali | taka | Asia
Malaysia | Kuala Lumpur | Malay | ringgit | Asia
Mongolia | Ulaanbaatar | Mongolian | - | Asia
Nepal | Kathmandu | Nepali | rupee | Asia
Iraq | Baghdad | Arabic | dinar | Asia
India | New Delhi | - | rupee | Asia
Egypt | Cairo | Arabic | pound | Africa
Kenya | Nairobi | - | shilling | Africa
Nigeria | Abuja | English | naira | Africa
Ethiopia | Addis Ababa | Amharic | birr | Africa
Morocco | Rabat | Arabic | dirham | Africa
Ghana | Accra | English | cedi | Africa
Algeria | Algiers | Arabic | dinar | Africa
Senegal | Dakar | French | franc | Africa
Brazil | Brasília | Portuguese | real | South America
Argentina | Buenos Aires | Spanish | peso | South America
Chile | Santiago | Spanish | peso | South America
Peru | Lima | Spanish | sol | South America
Colombia | Bogotá | Spanish | peso | South America
Venezuela | Caracas | Spanish | bolívar | South America
Uruguay | Montevideo | Spanish | peso | South America
Mexico | Mexico City | Spanish | peso | North America
Cuba | Havana | Spanish | peso | North America
Jamaica | Kingston | English | dollar | North America
United States | Washington, D.C. | English | dollar | North America
Canada | Ottawa | - | dollar | North America
Australia | Canberra | English | dollar | Oceania
New Zealand | Wellington | English | dollar | Oceania
"""


def _country_columns():
    rows = [tuple(part.strip() for part in line.split("|")) for line in COUNTRIES.strip().splitlines()]
    columns = {}
    for col in (1, 2, 3, 4):
        columns[col] = "\n".join(f"{row[0]} | {row[col]}" for row in rows if row[col] != "-")
    return columns


_COLUMNS = _country_columns()

# city | country of the cities used as objects beyond those of the city_country relation (portability look-ups)
EXTRA_CITY_COUNTRY = """
São Paulo | Brazil
Bergen | Norway
Houston | United States
Cape Town | South Africa
Johannesburg | South Africa
Dubai | United Arab Emirates
Edinburgh | United Kingdom
Florence | Italy
Venice | Italy
Zurich | Switzerland
Geneva | Switzerland
Antwerp | Belgium
Rotterdam | Netherlands
New York City | United States
San Francisco | United States
Seattle | United States
Agra | India
Pisa | Italy
Granada | Spain
Singapore | Singapore
Frankfurt | Germany
Stuttgart | Germany
Turin | Italy
Basel | Switzerland
Oxford | United Kingdom
Cambridge | United Kingdom
Bologna | Italy
Heidelberg | Germany
Leipzig | Germany
Salzburg | Austria
Bonn | Germany
Ulm | Germany
Málaga | Spain
Warsaw | Poland
Lausanne | Switzerland
The Hague | Netherlands
Brussels | Belgium
Redmond | United States
Cupertino | United States
Mountain View | United States
Santa Clara | United States
Atlanta | United States
Wolfsburg | Germany
Espoo | Finland
Billund | Denmark
Hangzhou | China
Shenzhen | China
Vevey | Switzerland
Maranello | Italy
Detroit | United States
"""

CITY_FACTS = """
Barcelona | Spain
Milan | Italy
Munich | Germany
Lyon | France
Osaka | Japan
Shanghai | China
Mumbai | India
Sydney | Australia
Toronto | Canada
Chicago | United States
Rio de Janeiro | Brazil
Istanbul | Turkey
Manchester | United Kingdom
Marseille | France
Hamburg | Germany
Naples | Italy
Seville | Spain
Porto | Portugal
Kraków | Poland
Gothenburg | Sweden
Kyoto | Japan
Busan | South Korea
Melbourne | Australia
Vancouver | Canada
Los Angeles | United States
Guadalajara | Mexico
Alexandria | Egypt
Casablanca | Morocco
Lagos | Nigeria
Karachi | Pakistan
Saint Petersburg | Russia
Montreal | Canada
"""

CAPITAL = Relation(
    "capital", "P36", "The capital of {} is",
    ("The capital city of {} is", "{}'s capital is the city of"),
    _COLUMNS[1], portability=("The capital of {} is a city in the country of", "city_country"),
)
LANGUAGE = Relation(
    "official_language", "P37", "The official language of {} is",
    ("In {}, the official language is", "The language officially spoken in {} is"),
    _COLUMNS[2], portability=("The official language of {} is written in the", "language_script"),
)
CURRENCY = Relation(
    "currency", "P38", "The currency of {} is the",
    ("In {}, people pay with the", "The official currency of {} is the"),
    _COLUMNS[3],
)
CONTINENT = Relation(
    "continent", "P30", "{} is located on the continent of",
    ("{} is a country in", "The continent where {} lies is"),
    _COLUMNS[4],
)
CITY_COUNTRY = Relation(
    "city_country", "P17", "{} is a city in the country of",
    ("The city of {} is located in", "{} is a city in"),
    CITY_FACTS, portability=("{} is a city on the continent of", "country_continent"),
)
LANDMARK_CITY = Relation(
    "landmark_city", "P131", "The {} is located in the city of",
    ("You can visit the {} in the city of", "The {} stands in the city of"),
    """
Eiffel Tower | Paris
Colosseum | Rome
Big Ben | London
Statue of Liberty | New York City
Sagrada Família | Barcelona
Brandenburg Gate | Berlin
Acropolis | Athens
Kremlin | Moscow
Forbidden City | Beijing
Taj Mahal | Agra
Sydney Opera House | Sydney
Golden Gate Bridge | San Francisco
Leaning Tower of Pisa | Pisa
Louvre | Paris
Tower Bridge | London
Burj Khalifa | Dubai
Christ the Redeemer statue | Rio de Janeiro
Space Needle | Seattle
Empire State Building | New York City
Hagia Sophia | Istanbul
Alhambra | Granada
Petronas Towers | Kuala Lumpur
CN Tower | Toronto
Tokyo Skytree | Tokyo
Charles Bridge | Prague
Atomium | Brussels
Parthenon | Athens
Rijksmuseum | Amsterdam
Prado Museum | Madrid
Uffizi Gallery | Florence
Hermitage Museum | Saint Petersburg
Brooklyn Bridge | New York City
Gateway of India | Mumbai
Schönbrunn Palace | Vienna
Buckingham Palace | London
""", portability=("The {} is located in the country of", "city_country"),
)
MOUNTAIN_COUNTRY = Relation(
    "mountain_country", "P17", "{} is a mountain in the country of",
    ("{} rises in the country of", "The mountain {} is located in"),
    """
Mount Kilimanjaro | Tanzania
Mount Fuji | Japan
Mount Etna | Italy
Mount Vesuvius | Italy
Table Mountain | South Africa
Denali | United States
Aconcagua | Argentina
Mount Olympus | Greece
Ben Nevis | United Kingdom
Mount Kosciuszko | Australia
Mount Elbrus | Russia
Mount Ararat | Turkey
Mount Rainier | United States
Zugspitze | Germany
Mount Teide | Spain
Mount Sinai | Egypt
Mount Kenya | Kenya
Mount Logan | Canada
Huascarán | Peru
Pico de Orizaba | Mexico
""", portability=("{} is a mountain on the continent of", "country_continent"),
)
RIVER_CITY = Relation(
    "river_city", "P206", "The {} river flows through the city of",
    ("The river {} runs through the city of", "The {} river passes through the city of"),
    """
Thames | London
Seine | Paris
Tiber | Rome
Spree | Berlin
Vltava | Prague
Neva | Saint Petersburg
Hudson | New York City
Arno | Florence
Liffey | Dublin
Tagus | Lisbon
Moskva | Moscow
Chao Phraya | Bangkok
Yarra | Melbourne
Huangpu | Shanghai
Amstel | Amsterdam
Nile | Cairo
""", portability=("The {} river flows through a city in the country of", "city_country"),
)
UNIVERSITY_CITY = Relation(
    "university_city", "P131", "The {} is located in the city of",
    ("The {} has its campus in the city of", "Students of the {} live in the city of"),
    """
University of Oxford | Oxford
University of Cambridge | Cambridge
Sorbonne University | Paris
ETH Zurich | Zurich
University of Tokyo | Tokyo
Yale University | New Haven
Princeton University | Princeton
Columbia University | New York City
Heidelberg University | Heidelberg
University of Bologna | Bologna
Peking University | Beijing
University of Toronto | Toronto
McGill University | Montreal
University of Chicago | Chicago
University of Edinburgh | Edinburgh
Humboldt University of Berlin | Berlin
University of Vienna | Vienna
Charles University | Prague
University of Melbourne | Melbourne
University of Sydney | Sydney
National University of Singapore | Singapore
Seoul National University | Seoul
University of Cape Town | Cape Town
University of Copenhagen | Copenhagen
""", portability=("The {} is located in the country of", "city_country"),
)
ORGANIZATION_CITY = Relation(
    "organization_city", "P159", "The headquarters of the {} are in the city of",
    ("The {} is headquartered in the city of", "The {} has its main office in the city of"),
    """
United Nations | New York City
World Health Organization | Geneva
UNESCO | Paris
International Monetary Fund | Washington, D.C.
World Bank | Washington, D.C.
FIFA | Zurich
International Olympic Committee | Lausanne
Interpol | Lyon
OPEC | Vienna
International Committee of the Red Cross | Geneva
World Trade Organization | Geneva
European Central Bank | Frankfurt
African Union | Addis Ababa
OECD | Paris
NATO | Brussels
International Court of Justice | The Hague
European Space Agency | Paris
Amnesty International | London
""", portability=("The headquarters of the {} are in the country of", "city_country"),
)

PLACE_RELATIONS = (
    CAPITAL, LANGUAGE, CURRENCY, CONTINENT, CITY_COUNTRY, LANDMARK_CITY, MOUNTAIN_COUNTRY,
    RIVER_CITY, UNIVERSITY_CITY, ORGANIZATION_CITY,
)
