"""Real-world facts about countries, cities, landmarks and places (authored for editnb)."""
from .relations import Relation
from .templates import TEMPLATES

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


# Countries whose name takes "the" when they are the subject of a prompt ("The capital of the
# Netherlands is"); as objects they stay bare, like every object ("... a citizen of" -> "Netherlands").
COUNTRIES_WITH_THE = {"United States", "United Kingdom", "Netherlands", "Czech Republic"}


def country_subject(country: str) -> str:
    return f"the {country}" if country in COUNTRIES_WITH_THE else country


def _country_columns():
    rows = [tuple(part.strip() for part in line.split("|")) for line in COUNTRIES.strip().splitlines()]
    columns = {}
    for col in (1, 2, 3, 4):
        columns[col] = "\n".join(f"{country_subject(row[0])} | {row[col]}" for row in rows if row[col] != "-")
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
    "capital", "P36", *TEMPLATES["capital"],
    _COLUMNS[1], portability=("The capital of {} is a city in the country of", "city_country"),
)
LANGUAGE = Relation(
    "official_language", "P37", *TEMPLATES["official_language"],
    _COLUMNS[2], portability=("The official language of {} is written in the", "language_script"),
)
CURRENCY = Relation(
    "currency", "P38", *TEMPLATES["currency"],
    _COLUMNS[3],
)
CONTINENT = Relation(
    "continent", "P30", *TEMPLATES["continent"],
    _COLUMNS[4],
)
CITY_COUNTRY = Relation(
    "city_country", "P17", *TEMPLATES["city_country"],
    CITY_FACTS, portability=("{} is a city on the continent of", "country_continent"),
)
LANDMARK_CITY = Relation(
    "landmark_city", "P131", *TEMPLATES["landmark_city"],
    """
the Eiffel Tower | Paris
the Colosseum | Rome
Big Ben | London
the Statue of Liberty | New York City
the Sagrada Família | Barcelona
the Brandenburg Gate | Berlin
the Acropolis | Athens
the Kremlin | Moscow
the Forbidden City | Beijing
the Taj Mahal | Agra
the Sydney Opera House | Sydney
the Golden Gate Bridge | San Francisco
the Leaning Tower of Pisa | Pisa
the Louvre | Paris
Tower Bridge | London
the Burj Khalifa | Dubai
the Christ the Redeemer statue | Rio de Janeiro
the Space Needle | Seattle
the Empire State Building | New York City
Hagia Sophia | Istanbul
the Alhambra | Granada
the Petronas Towers | Kuala Lumpur
the CN Tower | Toronto
Tokyo Skytree | Tokyo
Charles Bridge | Prague
the Atomium | Brussels
the Parthenon | Athens
the Rijksmuseum | Amsterdam
the Prado Museum | Madrid
the Uffizi Gallery | Florence
the Hermitage Museum | Saint Petersburg
the Brooklyn Bridge | New York City
the Gateway of India | Mumbai
Schönbrunn Palace | Vienna
Buckingham Palace | London
""", portability=("{} can be found in the country of", "city_country"),
)
MOUNTAIN_COUNTRY = Relation(
    "mountain_country", "P17", *TEMPLATES["mountain_country"],
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
    "river_city", "P206", *TEMPLATES["river_city"],
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
    "university_city", "P131", *TEMPLATES["university_city"],
    """
the University of Oxford | Oxford
the University of Cambridge | Cambridge
Sorbonne University | Paris
ETH Zurich | Zurich
the University of Tokyo | Tokyo
Yale University | New Haven
Princeton University | Princeton
Columbia University | New York City
Heidelberg University | Heidelberg
the University of Bologna | Bologna
Peking University | Beijing
the University of Toronto | Toronto
McGill University | Montreal
the University of Chicago | Chicago
the University of Edinburgh | Edinburgh
the Humboldt University of Berlin | Berlin
the University of Vienna | Vienna
Charles University | Prague
the University of Melbourne | Melbourne
the University of Sydney | Sydney
the National University of Singapore | Singapore
Seoul National University | Seoul
the University of Cape Town | Cape Town
the University of Copenhagen | Copenhagen
""", portability=("{} is located in the country of", "city_country"),
)
ORGANIZATION_CITY = Relation(
    "organization_city", "P159", *TEMPLATES["organization_city"],
    """
the United Nations | New York City
the World Health Organization | Geneva
UNESCO | Paris
the International Monetary Fund | Washington, D.C.
the World Bank | Washington, D.C.
FIFA | Zurich
the International Olympic Committee | Lausanne
Interpol | Lyon
OPEC | Vienna
the International Committee of the Red Cross | Geneva
the World Trade Organization | Geneva
the European Central Bank | Frankfurt
the African Union | Addis Ababa
the OECD | Paris
NATO | Brussels
the International Court of Justice | The Hague
the European Space Agency | Paris
Amnesty International | London
""", portability=("The headquarters of {} are in the country of", "city_country"),
)

PLACE_RELATIONS = (
    CAPITAL, LANGUAGE, CURRENCY, CONTINENT, CITY_COUNTRY, LANDMARK_CITY, MOUNTAIN_COUNTRY,
    RIVER_CITY, UNIVERSITY_CITY, ORGANIZATION_CITY,
)
