package io.pairstep.avail.threshold;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The threshold engine is pure, so any timeline can drive it: no clock, no thread, no I/O. */
class ThresholdPurityTest {

    private static final JavaClasses ENGINE = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackages("io.pairstep.avail.threshold");

    @Test
    void readsNoClockStartsNoThreadAndDoesNoIo() {
        noClasses().should().callMethod(System.class, "currentTimeMillis")
                .orShould().callMethod(System.class, "nanoTime")
                .orShould().dependOnClassesThat().resideInAnyPackage("java.time..", "java.util.concurrent..",
                        "java.net..", "java.nio..", "java.io..")
                .orShould().dependOnClassesThat().areAssignableTo(Thread.class)
                .because("time comes with each sample, and the caller decides threads")
                .check(ENGINE);
    }
}
