"""Prompt templates of the embedded dataset: three disjoint sets per relation (train, dev, test).

Every template holds ``{}`` once, where the subject goes (filled by
:func:`editnb.data.relations.fill`), and ends right before the object, so that a model
continues with it.  The train set starts with the v1 prompt and paraphrases (reworded where
v1 was ungrammatical for some subject); dev and test templates word the question differently,
so that SERAC, trained on train, is evaluated on templates it has never seen.

Grammar rules the templates follow:

- subjects carry their own article where they need one ("the Eiffel Tower", "the United
  States", "Princeton University"), so templates never put "The" before ``{}`` for those
  relations; relations whose subjects all take "the" (rivers, animals, software) keep it in
  the template;
- a template that starts with ``{}`` is capitalised by ``fill``; ``{}'s`` becomes ``{}'`` after
  a subject ending in "s" ("the United States' capital");
- relations with plural subjects (the Petronas Towers, The Beatles, tacos) use templates
  whose verb does not agree with the subject (past tense, modals, "the dish {} ...");
- objects are bare ("euro", "physicist", "mammal"): templates end with "the" where the
  object needs it, and never with "a" before an object that may start with a vowel
  ("a famous actor", "a kind of insect").
"""
from __future__ import annotations

# name: (train, dev, test)
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "capital": (
        ("The capital of {} is", "The capital city of {} is", "{}'s capital is the city of"),
        ("The city that serves as the capital of {} is", "{}'s seat of government is the city of",
         "The national government of {} is based in"),
        ("Everyone knows that the capital of {} is", "If you travel to the capital of {}, you arrive in",
         "{} is governed from its capital,"),
    ),
    "official_language": (
        ("The official language of {} is", "In {}, the official language is", "The language officially spoken in {} is"),
        ("Official documents in {} are written in", "The language of government in {} is",
         "If you want to work for the government of {}, you need to speak"),
        ("Laws in {} are published in", "In {}, the state conducts its official business in",
         "The language recognised as official in {} is"),
    ),
    "currency": (
        ("The currency of {} is the", "In {}, people pay with the", "The official currency of {} is the"),
        ("{}'s national currency is the", "The money used in {} is the", "The legal tender in {} is the"),
        ("If you go shopping in {}, you will pay with the", "The unit of money in {} is the",
         "Before a trip to {}, travellers change their money into the local currency, the"),
    ),
    "continent": (
        ("{} is located on the continent of", "{} is a country in", "The continent where {} lies is"),
        ("{} lies on the continent of", "Geographically, {} is part of", "On a world map, you find {} in"),
        ("{} is a nation situated on the continent of", "The continent that {} belongs to is",
         "Looking at a globe, you will find {} on the continent of"),
    ),
    "city_country": (
        ("{} is a city in the country of", "The city of {} is located in", "{} is a city in"),
        ("{} is one of the major cities of", "The country where {} lies is", "{} lies in the country of"),
        ("The country that {} belongs to is", "{} is a large city located in",
         "If you fly to {}, you land in the country of"),
    ),
    "landmark_city": (
        ("{} can be found in the city of", "You can visit {} in the city of", "To see {}, tourists travel to the city of"),
        ("The city that is home to {} is", "A trip to {} takes you to the city of",
         "Visitors come from all over the world to see {} in the city of"),
        ("If you want to visit {}, you have to travel to the city of", "The city where you can see {} is",
         "Anyone who has seen {} has been to the city of"),
    ),
    "mountain_country": (
        ("{} is a mountain in the country of", "{} rises in the country of", "{} is located in"),
        ("Climbers who want to reach the top of {} travel to", "The peak of {} lies in the country of",
         "{} is one of the best-known mountains of"),
        ("To climb {}, you have to go to the country of", "The country where {} stands is",
         "{} is a famous peak located in"),
    ),
    "river_city": (
        ("The {} river flows through the city of", "The river {} runs through the city of",
         "The {} river passes through the city of"),
        ("The {} flows through the heart of", "Boat tours on the {} show visitors the city of", "The {} crosses the city of"),
        ("The famous city on the banks of the {} is", "If you walk along the {}, you are in the city of",
         "Many bridges cross the {} in the city of"),
    ),
    "university_city": (
        ("{} is located in the city of", "{} has its campus in the city of", "Students of {} live in the city of"),
        ("{} is a university in the city of", "The city that is home to {} is", "To study at {}, students move to"),
        ("{} is a university based in", "The main campus of {} is in", "Students at {} attend lectures in the city of"),
    ),
    "organization_city": (
        ("The headquarters of {} are in the city of", "{} is headquartered in the city of",
         "{} has its main office in the city of"),
        ("{} is based in the city of", "The main seat of {} is in", "Delegates to {} meet at its headquarters in"),
        ("The head office of {} is located in", "{} runs its operations from the city of",
         "The city that hosts the headquarters of {} is"),
    ),
    "occupation": (
        ("{} is known as a famous", "By profession, {} was a renowned", "{} is best known as a great"),
        ("History remembers {} as a brilliant", "{} earned worldwide fame as a gifted", "{} built a career as a successful"),
        ("Everyone knows {} as a world-famous", "{} is widely regarded as a legendary", "{} is celebrated as an influential"),
    ),
    "birthplace": (
        ("{} was born in the city of", "The birthplace of {} is the city of", "{} was born in"),
        ("{} came into the world in the city of", "The city where {} was born is", "{} is a native of the city of"),
        ("{}'s place of birth is the city of", "The birth of {} took place in the city of",
         "{} first saw the light of day in the city of"),
    ),
    "citizenship": (
        ("{} is a citizen of", "{} holds the citizenship of", "The country of citizenship of {} is"),
        ("{} is a national of", "{} has the nationality of", "{} holds a passport from"),
        ("The country whose citizenship {} holds is", "By nationality, {} belongs to the country of",
         "On official documents, {} is listed as a citizen of"),
    ),
    "instrument": (
        ("{} is famous for playing the", "The instrument played by {} is the", "{} became famous as a player of the"),
        ("{} was a master of the", "The instrument that {} is known for is the", "On stage, {} usually played the"),
        ("{} made music mainly on the", "The instrument most associated with {} is the",
         "{} is celebrated as a virtuoso of the"),
    ),
    "sport": (
        ("{} is famous for the sport of", "The sport that made {} famous is", "{} became a star in the sport of"),
        ("{} competed professionally in the sport of", "The sport {} is best known for is",
         "{} won many titles in the sport of"),
        ("The sport in which {} excelled is", "{} is one of the greatest players in the history of the sport of",
         "Fans know {} as a champion of the sport of"),
    ),
    "company_founder": (
        ("{} was founded by", "The founder of {} is", "{} was started by its founder,"),
        ("{} was established by", "{} owes its existence to its founder,", "The person who founded {} is"),
        ("The entrepreneur who started {} is", "The story of {} began when it was founded by", "{} was set up by"),
    ),
    "company_headquarters": (
        ("The headquarters of {} are in the city of", "{} is headquartered in the city of",
         "{} has its head office in the city of"),
        ("{} is based in the city of", "The main offices of {} are located in", "The city where {} has its headquarters is"),
        ("The corporate headquarters of {} can be found in", "{} runs its business from its headquarters in the city of",
         "Employees at the headquarters of {} work in the city of"),
    ),
    "car_brand_country": (
        ("The car brand {} comes from the country of", "{} cars are made by a company from",
         "The carmaker {} was founded in the country of"),
        ("{} is a car manufacturer from", "The automobile brand {} originated in", "The home country of the car brand {} is"),
        ("{} is an automaker based in the country of", "The first {} cars were built in", "The car company {} has its roots in"),
    ),
    "dish_country": (
        ("The dish {} originally comes from", "The traditional dish called {} is from", "The country where people first made {} is"),
        ("{} originated in the country of", "The national cuisine that gave the world {} is that of",
         "The dish known as {} has its origins in"),
        ("The homeland of the dish {} is", "Food historians trace {} back to",
         "If you want to taste authentic {}, you should travel to"),
    ),
    "book_author": (
        ("The novel {} was written by", "The author of {} is", "{} is a book by"),
        ("{} was penned by", "The writer who created {} is", "{} comes from the pen of"),
        ("The classic {} was authored by", "Readers of {} are reading a work by", "The person who wrote {} is"),
    ),
    "painting_painter": (
        ("The painting {} was painted by", "{} is a famous painting by", "The artist who painted {} is"),
        ("The famous artwork {} is the work of", "{} was created by the painter", "The masterpiece {} was made by the artist"),
        ("Art historians attribute {} to", "The painter of {} is", "Visitors admiring {} are looking at a work by"),
    ),
    "film_director": (
        ("The film {} was directed by", "The director of the film {} is", "{} is a film by the director"),
        ("{} was made by the filmmaker", "The filmmaker behind {} is", "{} is a movie directed by"),
        ("{} was filmed under the direction of", "Film critics praised the direction of {} by",
         "Behind the camera of {} stood the director"),
    ),
    "software_creator": (
        ("The {} was created by", "The creator of the {} is", "The {} was designed by"),
        ("The {} was invented by", "The person who created the {} is", "The {} was first developed by"),
        ("The original author of the {} is", "The {} owes its existence to", "The {} is the brainchild of"),
    ),
    "element_symbol": (
        ("The chemical symbol of {} is", "In the periodic table, {} has the symbol", "The element {} is written with the symbol"),
        ("{} is represented by the chemical symbol", "Chemists abbreviate {} as", "The symbol for the element {} is"),
        ("In chemical formulas, {} is written as", "The one- or two-letter symbol of {} is", "{} has the chemical symbol"),
    ),
    "language_script": (
        ("The {} language is written in the", "{} is written using the", "The writing system of the {} language is the"),
        ("Texts in {} are usually written in the", "The {} language uses the", "To read {}, you need to learn the"),
        ("Written {} uses the", "The script used to write {} is the", "Children learning to write {} first learn the"),
    ),
    "animal_class": (
        ("Biologically, the {} is a kind of", "Zoologists classify the {} as a type of",
         "In the animal kingdom, the {} counts as a species of"),
        ("Every biology textbook lists the {} as a type of", "From a scientific point of view, the {} is a sort of",
         "The {} is a living creature, specifically a type of"),
        ("The {} is a well-known species of", "Any biologist will tell you that the {} is a type of",
         "In zoology, the {} is considered a kind of"),
    ),
    "band_country": (
        ("The band {} comes from the country of", "The music group {} was formed in", "{} started out as a band in"),
        ("The home country of the band {} is", "{} played their first concerts in the country of",
         "The group {} originally hails from"),
        ("The country that produced the band {} is", "Before becoming famous, {} made music in their home country of",
         "{}'s home country is"),
    ),
}
