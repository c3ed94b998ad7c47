-- The index behind the medical insurance card's daily limit holds the settlements paid with that
-- card only: the others, most of them paid with the social security card, need no entry in it, and
-- each entry is a page written at random in every batch of settlements.
DROP INDEX settlements_card_day;
CREATE INDEX settlements_medical_card_day ON settlements(region, card_ref, settled_on) WHERE means = 'medical_card';
